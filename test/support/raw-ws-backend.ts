import { once } from "node:events";
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import { connect, type Socket } from "node:net";
import { startLoopbackProxy, type LoopbackProxy } from "./loopback-proxy.js";
import type { Teardown } from "./temp-dir.js";
import { waitUntil } from "./wait.js";

/**
 * WebSockets through the binary at the byte level: a backend that accepts any upgrade without speaking WebSocket,
 * and a client that sends its own handshake, so that tests choose every byte and every write on both sides.
 */

/** A backend that accepts any upgrade, records what it receives and sends `toClient` once connected. */
export async function rawBackend(): Promise<{
  server: Server;
  port: number;
  next: () => Promise<{ socket: Socket; received: () => Buffer }>;
}> {
  const waiting: Array<(value: { socket: Socket; received: () => Buffer }) => void> = [];
  const server = createServer();
  server.on("upgrade", (_req, socket: Socket) => {
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", () => undefined);
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n",
    );
    waiting.shift()?.({ socket, received: () => Buffer.concat(chunks) });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as { port: number }).port;
  return {
    server,
    port,
    next: () => new Promise((resolve) => waiting.push(resolve)),
  };
}

export async function receiveExactly(read: () => Buffer, length: number): Promise<Buffer> {
  await waitUntil(() => read().length >= length, `${length} bytes`, 20000, 20);
  return read();
}

export type RawBackend = Awaited<ReturnType<typeof rawBackend>>;

/** A raw backend and the proxy (with `args` added) in front of it, both stopped when `t` ends. */
export async function relayThroughProxy(
  t: Teardown,
  args: string[] = [],
): Promise<{ backend: RawBackend; port: number; proxy: LoopbackProxy }> {
  const backend = await rawBackend();
  t.teardown(() => {
    backend.server.closeAllConnections();
    backend.server.close();
  });
  const proxy = await startLoopbackProxy(
    t,
    ["--default-target", `http://127.0.0.1:${backend.port}`, ...args],
    {
      ready: /Route added \//,
    },
  );
  return { backend, port: proxy.port, proxy };
}

/** Opens a kernel-channel WebSocket through the proxy: the client, its upstream end, and where the body starts. */
export async function openKernelSocket(
  port: number,
  backend: RawBackend,
  user: string,
): Promise<{
  client: Socket;
  upstream: { socket: Socket; received: () => Buffer };
  fromProxy: Buffer[];
  bodyStart: number;
}> {
  const accepted = backend.next();
  const client = connect(port, "127.0.0.1");
  await once(client, "connect");
  const fromProxy: Buffer[] = [];
  client.on("data", (chunk: Buffer) => fromProxy.push(chunk));
  client.write(
    `GET /user/${user}/api/kernels/${randomUUID()}/channels?session_id=${randomUUID()} HTTP/1.1\r\n` +
      `Host: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
  );
  const upstream = await accepted;
  const head = await receiveExactly(() => Buffer.concat(fromProxy), 1);
  return { client, upstream, fromProxy, bodyStart: head.indexOf("\r\n\r\n") + 4 };
}
