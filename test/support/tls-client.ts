import { createServer, type Server } from "node:https";
import { once } from "node:events";
import { connect, type TLSSocket, type SecureVersion } from "node:tls";
import type { AddressInfo } from "node:net";
import type { TlsServerOptions } from "../../src/tls/tls-options.js";

/** An HTTPS server on 127.0.0.1 answering every request with "ok <url>"; the caller closes it. */
export async function startHttpsServer(options: TlsServerOptions): Promise<{ server: Server; port: number }> {
  const server = createServer(options, (req, res) => {
    res.end(`ok ${req.url}`);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, port: (server.address() as AddressInfo).port };
}

export interface ClientOptions {
  ca?: Buffer | Buffer[];
  servername?: string;
  maxVersion?: SecureVersion;
}

/** Opens a verified TLS connection and resolves once the handshake is done. */
export async function openTls(port: number, options: ClientOptions = {}): Promise<TLSSocket> {
  const socket = connect({
    host: "127.0.0.1",
    port,
    servername: options.servername ?? "localhost",
    ca: options.ca,
    maxVersion: options.maxVersion,
  });
  await once(socket, "secureConnect");
  return socket;
}

/** Sends one keep-alive HTTP/1.1 GET over an open socket and returns the body. */
export async function getOver(socket: TLSSocket, path: string): Promise<string> {
  let received = "";
  const response = new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      received += chunk.toString();
      const headerEnd = received.indexOf("\r\n\r\n");
      const length = /content-length: (\d+)/i.exec(received);
      if (headerEnd >= 0 && length && received.length >= headerEnd + 4 + Number(length[1])) {
        socket.off("data", onData);
        socket.off("error", reject);
        resolve(received.slice(headerEnd + 4));
      }
    };
    socket.on("data", onData);
    socket.once("error", reject);
  });
  socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n`);
  return response;
}

export function fingerprintOf(socket: TLSSocket): string {
  return socket.getPeerCertificate().fingerprint256;
}
