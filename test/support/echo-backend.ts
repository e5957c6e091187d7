import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingHttpHeaders, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createServer as createNetServer, type AddressInfo, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WebSocketServer, type WebSocket } from "ws";

/**
 * Test backends in the shape of CHP's `lib/testutil.js`, so CHP's specs port one to one: an echo server (HTTP
 * and WebSocket), an error-page server, a redirecting server, and TLS material for HTTPS backends.
 */

/** What the echo backend answers to every HTTP request. */
export interface EchoReply {
  target: string;
  path: string;
  url: string;
  headers: IncomingHttpHeaders;
}

/** What the echo backend sends back for each WebSocket message. */
export interface EchoMessage {
  target: string;
  path: string;
  message: string;
}

export interface TlsMaterial {
  key: string;
  cert: string;
  /** Trusted CA for verifying the peer; with `requestCert` the server asks for a client certificate. */
  ca?: string;
  requestCert?: boolean;
}

export interface EchoBackendOptions {
  /** The route path this backend stands for; echoed as `path`. */
  path?: string;
  /** Appended to the backend's URL in `target` (CHP's `targetPath`). */
  targetPath?: string;
  /** Serve HTTPS with this key and certificate. */
  tls?: TlsMaterial;
  /** Listen on this UNIX socket instead of a TCP port; the target is `http+unix://<encoded path>`. */
  socketPath?: string;
}

export interface Backend {
  /** The route target for this backend (`http[s]://127.0.0.1:<port>[targetPath]` or `http+unix://…`). */
  target: string;
  close(): Promise<void>;
}

export interface EchoBackend extends Backend {
  /** Headers of every HTTP request and WebSocket upgrade the backend received, in order. */
  requests: Array<{ url: string; headers: IncomingHttpHeaders }>;
  /** Sends `text` to every open WebSocket client (server→client traffic). */
  broadcast(text: string): void;
  /** WebSocket connections the backend holds open right now. */
  openWebSockets(): number;
}

export interface RecordingBackend extends Backend {
  requests: Array<{ url: string; headers: IncomingHttpHeaders }>;
}

async function listenOn(server: Server, socketPath?: string): Promise<number | undefined> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    if (socketPath) server.listen(socketPath, resolve);
    else server.listen(0, "127.0.0.1", resolve);
  });
  return socketPath ? undefined : (server.address() as AddressInfo).port;
}

function closer(server: Server, wss?: WebSocketServer): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      for (const client of wss?.clients ?? []) client.terminate();
      wss?.close();
      server.close(() => resolve());
      server.closeAllConnections();
    });
}

function baseUrl(port: number | undefined, options: { tls?: TlsMaterial; socketPath?: string }): string {
  if (options.socketPath) return `http+unix://${encodeURIComponent(options.socketPath)}`;
  return `${options.tls ? "https" : "http"}://127.0.0.1:${port}`;
}

/** CHP's `addTarget` backend: HTTP requests get `{target, path, url, headers}`; WebSockets get "connected", then echoes. */
export async function startEchoBackend(options: EchoBackendOptions = {}): Promise<EchoBackend> {
  const requests: EchoBackend["requests"] = [];
  let target = "";
  const server = options.tls
    ? createHttpsServer({ ...options.tls, rejectUnauthorized: Boolean(options.tls.requestCert) })
    : createHttpServer();
  server.on("request", (req, res) => {
    requests.push({ url: req.url ?? "", headers: req.headers });
    const reply: EchoReply = { target, path: options.path ?? "/", url: req.url ?? "", headers: req.headers };
    req.resume();
    req.on("end", () => res.end(JSON.stringify(reply)));
  });
  const wss = new WebSocketServer({ server });
  wss.on("connection", (ws: WebSocket, req) => {
    requests.push({ url: req.url ?? "", headers: req.headers });
    ws.on("message", (data) => {
      const reply: EchoMessage = { target, path: options.path ?? "/", message: String(data) };
      ws.send(JSON.stringify(reply));
    });
    ws.send("connected");
  });
  const port = await listenOn(server, options.socketPath);
  target = baseUrl(port, options) + (options.targetPath ?? "");
  return {
    target,
    requests,
    broadcast: (text) => wss.clients.forEach((client) => client.send(text)),
    openWebSockets: () => wss.clients.size,
    close: closer(server, wss),
  };
}

/**
 * CHP's error-target server: answers `text/plain` with the `url` query parameter, status 200 (the proxy must
 * substitute its own code).
 */
export async function startErrorPageServer(options: { socketPath?: string } = {}): Promise<RecordingBackend> {
  const requests: RecordingBackend["requests"] = [];
  const server = createHttpServer((req, res) => {
    requests.push({ url: req.url ?? "", headers: req.headers });
    const query = new URL(req.url ?? "/", "http://example.com").searchParams;
    res.setHeader("Content-Type", "text/plain");
    res.end(query.get("url") ?? "");
  });
  const port = await listenOn(server, options.socketPath);
  return { target: baseUrl(port, options), requests, close: closer(server) };
}

/**
 * CHP's `addTargetRedirecting` backend: every request gets `status` (301 by default) with `Location: <location>`;
 * a function receives the backend's own target, for Locations that point back at it.
 */
export async function startRedirectingBackend(
  location: string | ((target: string) => string),
  status = 301,
): Promise<RecordingBackend> {
  const requests: RecordingBackend["requests"] = [];
  let target = "";
  const server = createHttpServer((req, res) => {
    requests.push({ url: req.url ?? "", headers: req.headers });
    res.writeHead(status, { Location: typeof location === "string" ? location : location(target) });
    res.end();
  });
  target = baseUrl(await listenOn(server), {});
  return { target, requests, close: closer(server) };
}

/** A backend that accepts connections and never answers (for `--proxy-timeout` / `--timeout`). */
export async function startSilentBackend(): Promise<Backend> {
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    target: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A test PKI made with the openssl CLI: one CA, a server certificate for 127.0.0.1/localhost, a client certificate. */
export interface TestPki {
  dir: string;
  caCert: string;
  serverKey: string;
  serverCert: string;
  clientKey: string;
  clientCert: string;
  /** File paths of the same material, for the proxy's `--ssl-*` / `--client-ssl-*` options. */
  files: { caCert: string; serverKey: string; serverCert: string; clientKey: string; clientCert: string };
  remove(): void;
}

function openssl(dir: string, args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

function issue(dir: string, name: string, subject: string, extensions: string): void {
  openssl(dir, ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${name}.key`]);
  openssl(dir, ["req", "-new", "-key", `${name}.key`, "-subj", subject, "-out", `${name}.csr`]);
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    `${name}.ext`,
    "-out",
    `${name}.crt`,
  ]);
}

export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), "ltictr-pki-"));
  openssl(dir, ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key"]);
  openssl(dir, [
    "req",
    "-x509",
    "-new",
    "-key",
    "ca.key",
    "-subj",
    "/CN=ltictr test CA",
    "-days",
    "2",
    "-out",
    "ca.crt",
  ]);
  issue(
    dir,
    "server",
    "/CN=127.0.0.1",
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
  );
  issue(dir, "client", "/CN=proxy-client", "extendedKeyUsage=clientAuth\n");
  const files = {
    caCert: join(dir, "ca.crt"),
    serverKey: join(dir, "server.key"),
    serverCert: join(dir, "server.crt"),
    clientKey: join(dir, "client.key"),
    clientCert: join(dir, "client.crt"),
  };
  const read = (file: string) => readFileSync(file, "utf8");
  return {
    dir,
    caCert: read(files.caCert),
    serverKey: read(files.serverKey),
    serverCert: read(files.serverCert),
    clientKey: read(files.clientKey),
    clientCert: read(files.clientCert),
    files,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
