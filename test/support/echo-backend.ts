import { createServer as createHttpServer, type IncomingHttpHeaders, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createServer as createNetServer, type AddressInfo, type Socket } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";

/**
 * Test backends in the shape of CHP's `lib/testutil.js`, so CHP's specs port one to one: an echo server (HTTP
 * and WebSocket), an error-page server, a redirecting server and a silent one.
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

/** PEM text (not file names). */
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
