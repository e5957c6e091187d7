import { readdirSync, readFileSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import type { Test } from "tap";
import WebSocket from "ws";
import { startLoopbackProxy, type LoopbackProxy } from "./loopback-proxy.js";
import { PROXY_BIN } from "./proxy-process.js";
import type { Teardown } from "./temp-dir.js";
import { sleep, waitUntil } from "./wait.js";

/*
 * Tools for the adversarial suite: the real binary between raw TCP clients and raw TCP upstreams, so each side
 * can misbehave byte by byte, and the proxy's own file descriptors and memory read from /proc.
 *
 * ADVERSARIAL_PROXY_BIN runs the suite against another build (e.g. an older commit's bin/ltictr-proxy.js);
 * ADVERSARIAL_REPEAT sets the repetitions per case (npm test runs a few hundred, the long run 10,000).
 * Settings an older build may not know are given as LTICTR_* variables, which it ignores with a warning.
 */

export const PROXY_UNDER_TEST = process.env.ADVERSARIAL_PROXY_BIN || PROXY_BIN;

/** Repetitions per case: ADVERSARIAL_REPEAT, else `fallback`. */
export function repetitions(fallback: number): number {
  const given = Number(process.env.ADVERSARIAL_REPEAT);
  return Number.isInteger(given) && given > 0 ? given : fallback;
}

/** The binary under test on 127.0.0.1 with a route `/` to `upstream`; `env` carries LTICTR_* settings. */
export async function proxyFor(
  t: Teardown,
  upstream: string,
  env: NodeJS.ProcessEnv = {},
  args: string[] = [],
): Promise<LoopbackProxy> {
  return startLoopbackProxy(t, ["--default-target", upstream, ...args], {
    bin: PROXY_UNDER_TEST,
    // SIGUSR1 opens Node's inspector, on a free port (see heapAfterCollection).
    env: { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --inspect-port=127.0.0.1:0`.trim(), ...env },
    ready: /Route added \//,
  });
}

/** Open file descriptors and resident memory of a process; with `heapKiB`, what a full collection left. */
export interface ProcessFootprint {
  fds: number;
  rssKiB: number;
  /** JavaScript heap in use plus memory held by Buffers and other external objects, right after a full GC. */
  heapKiB?: number;
}

export function footprint(pid: number): ProcessFootprint {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rss = /^VmRSS:\s+(\d+) kB/m.exec(status);
  return { fds: readdirSync(`/proc/${pid}/fd`).length, rssKiB: rss ? Number(rss[1]) : NaN };
}

/**
 * The proxy's footprint after a full garbage collection. Without one, RSS and heap figures depend on when the
 * collector last ran: freed buffers of thousands of connections can be counted for seconds, and a busy machine
 * moved RSS by 30 MiB between otherwise equal measurements. The collection is asked for through Node's inspector
 * (opened by SIGUSR1, as an operator would open it), so the proxy needs no hook of its own.
 */
export async function settledFootprint(proxy: LoopbackProxy): Promise<ProcessFootprint> {
  const heapKiB = await heapAfterCollection(proxy);
  return { ...footprint(proxy.process.child.pid as number), heapKiB };
}

async function heapAfterCollection(proxy: LoopbackProxy): Promise<number> {
  const listening = /Debugger listening on (ws:\/\/\S+)/;
  if (!listening.test(proxy.process.stderr())) {
    proxy.process.child.kill("SIGUSR1");
    await proxy.process.waitFor(listening, 10_000);
  }
  const url = (listening.exec(proxy.process.stderr()) as RegExpExecArray)[1];
  const inspector = new WebSocket(url);
  try {
    await new Promise<void>((resolve, reject) => {
      inspector.once("open", resolve);
      inspector.once("error", reject);
    });
    let nextId = 1;
    const call = (method: string, params: object = {}) =>
      new Promise<{ result?: { value?: unknown } }>((resolve, reject) => {
        const id = nextId++;
        const onMessage = (data: Buffer) => {
          const message = JSON.parse(data.toString()) as {
            id?: number;
            result?: { result?: { value?: unknown } };
            error?: unknown;
          };
          if (message.id !== id) return;
          inspector.off("message", onMessage);
          if (message.error) reject(new Error(`inspector ${method}: ${JSON.stringify(message.error)}`));
          else resolve(message.result ?? {});
        };
        inspector.on("message", onMessage);
        inspector.send(JSON.stringify({ id, method, params }));
      });
    await call("HeapProfiler.collectGarbage");
    const usage = await call("Runtime.evaluate", {
      expression: "(({ heapUsed, external }) => heapUsed + external)(process.memoryUsage())",
      returnByValue: true,
    });
    const bytes = usage.result?.value;
    if (typeof bytes !== "number") throw new Error(`inspector answered ${JSON.stringify(usage)}`);
    return Math.round(bytes / 1024);
  } finally {
    inspector.close();
  }
}

/**
 * Asserts that the proxy's descriptors come back to `baseline` (allowing `fdSlack` for sockets the kernel is
 * still closing), that what a full collection leaves of its heap grew by at most `heapSlackMiB` (a leak of
 * JavaScript objects or Buffers), and its RSS by at most `rssSlackMiB` (native memory; the allocator keeps freed
 * memory, so this bound is the looser one). Waits up to 15 s for the descriptors.
 */
export async function assertBackToBaseline(
  t: Test,
  proxy: LoopbackProxy,
  baseline: ProcessFootprint,
  what: string,
  { fdSlack = 4, rssSlackMiB = 48, heapSlackMiB = 4 } = {},
): Promise<ProcessFootprint> {
  const pid = proxy.process.child.pid as number;
  let fds = footprint(pid).fds;
  const deadline = Date.now() + 15_000;
  while (fds > baseline.fds + fdSlack && Date.now() < deadline) {
    await sleep(100);
    fds = footprint(pid).fds;
  }
  const now = await settledFootprint(proxy);
  t.ok(
    now.fds <= baseline.fds + fdSlack,
    `${what}: open descriptors back to baseline (${baseline.fds} → ${now.fds})`,
  );
  const mib = (kib: number) => Math.round(kib / 1024);
  if (baseline.heapKiB !== undefined && now.heapKiB !== undefined) {
    t.ok(
      now.heapKiB - baseline.heapKiB <= heapSlackMiB * 1024,
      `${what}: heap after a full GC ${mib(baseline.heapKiB)} → ${mib(now.heapKiB)} MiB (at most +${heapSlackMiB})`,
    );
  }
  t.ok(
    now.rssKiB - baseline.rssKiB <= rssSlackMiB * 1024,
    `${what}: RSS ${mib(baseline.rssKiB)} → ${mib(now.rssKiB)} MiB (at most +${rssSlackMiB})`,
  );
  return now;
}

/** Still running, and nothing in its output says it lost track of an error. */
export function assertNothingCrashed(t: Test, proxy: LoopbackProxy): void {
  t.equal(proxy.process.child.exitCode, null, "the proxy still runs");
  const output = proxy.process.stdout() + proxy.process.stderr();
  t.notMatch(output, /Unhandled|uncaught|MaxListenersExceeded|FATAL|heap out of memory/i, "no crash report");
}

// ---- Raw upstreams ----

export interface RawRequest {
  method: string;
  path: string;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** The head exactly as it came (latin1). */
  head: string;
  body: Buffer;
}

export interface RawUpstreamSocket {
  socket: Socket;
  /** The proxy closed (or reset) its side. */
  closed: boolean;
}

export interface RawUpstream {
  url: string;
  port: number;
  sockets: RawUpstreamSocket[];
  /** Sockets the proxy has not closed. */
  openSockets(): number;
}

/**
 * Called once per complete request (the head, and the body its Content-Length or chunked framing announces).
 * An upgrade request is complete with its head; the handler then owns the socket.
 */
export type RawHandler = (request: RawRequest, socket: Socket) => void;

export async function rawUpstream(t: Teardown, handler: RawHandler): Promise<RawUpstream> {
  const sockets: RawUpstreamSocket[] = [];
  const server = createServer((socket) => {
    const entry: RawUpstreamSocket = { socket, closed: false };
    sockets.push(entry);
    socket.on("error", () => undefined);
    socket.on("close", () => (entry.closed = true));
    let pending: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      for (;;) {
        const found = parseRequest(pending);
        if (!found) return;
        pending = pending.subarray(found.end);
        if (found.request.headers.upgrade !== undefined) {
          socket.off("data", onData);
          if (pending.length > 0) socket.unshift(pending);
          handler(found.request, socket);
          return;
        }
        handler(found.request, socket);
      }
    };
    socket.on("data", onData);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.teardown(() => {
    for (const entry of sockets) entry.socket.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    sockets,
    openSockets: () => sockets.filter((entry) => !entry.closed).length,
  };
}

function parseRequest(buffer: Buffer): { request: RawRequest; end: number } | undefined {
  const headEnd = buffer.indexOf("\r\n\r\n");
  if (headEnd === -1) return undefined;
  const head = buffer.toString("latin1", 0, headEnd + 4);
  const [requestLine, ...lines] = head.slice(0, headEnd).split("\r\n");
  const [method = "", path = ""] = requestLine.split(" ");
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  const bodyStart = headEnd + 4;
  if (/chunked/i.test(headers["transfer-encoding"] ?? "")) {
    const pieces: Buffer[] = [];
    let at = bodyStart;
    for (;;) {
      const lineEnd = buffer.indexOf("\r\n", at);
      if (lineEnd === -1) return undefined;
      const size = parseInt(buffer.toString("latin1", at, lineEnd), 16);
      const dataEnd = lineEnd + 2 + size;
      if (buffer.length < dataEnd + 2) return undefined;
      if (size === 0) {
        return { request: { method, path, headers, head, body: Buffer.concat(pieces) }, end: dataEnd + 2 };
      }
      pieces.push(buffer.subarray(lineEnd + 2, dataEnd));
      at = dataEnd + 2;
    }
  }
  const length = Number(headers["content-length"] ?? 0);
  const end = bodyStart + length;
  if (buffer.length < end) return undefined;
  return {
    request: { method, path, headers, head, body: Buffer.from(buffer.subarray(bodyStart, end)) },
    end,
  };
}

/** `200 OK` with `body`, kept alive. */
export function okResponse(body: string | Buffer, extraHeaders = ""): Buffer {
  const bytes = typeof body === "string" ? Buffer.from(body) : body;
  return Buffer.concat([
    Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${bytes.length}\r\n${extraHeaders}\r\n`, "latin1"),
    bytes,
  ]);
}

// ---- Raw clients ----

export interface RawAnswer {
  /** Everything the proxy wrote (latin1). */
  text: string;
  /** The status of the first answer, or 0 when none came. */
  status: number;
  /** The proxy closed the connection within the wait. */
  closed: boolean;
  /** ms from sending to the close (or to the end of the wait). */
  elapsedMs: number;
}

export interface RawClientOptions {
  /** Source address, e.g. 127.0.0.2: another client as the proxy sees it. */
  localAddress?: string;
  /** Give up after this long without the proxy closing (the answer so far is returned). */
  waitMs?: number;
  /** Resolve as soon as `done(text)` holds instead of waiting for the close. */
  done?: (text: string) => boolean;
}

/** Sends `data`, collects the answer until the proxy closes, `done` holds or `waitMs` passes. */
export function rawRequest(
  port: number,
  data: string | Buffer,
  options: RawClientOptions = {},
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect({ port, host: "127.0.0.1", localAddress: options.localAddress });
    let text = "";
    let settled = false;
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve({ text, status: status ? Number(status[1]) : 0, closed, elapsedMs: Date.now() - started });
    };
    const timer = setTimeout(() => finish(false), options.waitMs ?? 10_000);
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("latin1");
      if (options.done?.(text)) finish(false);
    });
    socket.on("close", () => finish(true));
    socket.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ECONNRESET" || error.code === "EPIPE") finish(true);
      else if (!settled) {
        settled = true;
        clearTimeout(timer);
        reject(error);
      }
    });
    socket.write(data);
  });
}

/** A connection the test keeps in hand: it wrote `data` and goes on reading (or not). */
export interface HeldClient {
  socket: Socket;
  /** What came back so far (latin1). */
  received(): string;
  /** Resolves once the proxy closes the connection. */
  closed: Promise<void>;
  isClosed(): boolean;
}

export async function holdClient(
  t: Teardown,
  port: number,
  data: string | Buffer,
  { localAddress, read = "all" }: { localAddress?: string; read?: "all" | "nothing" | "head" } = {},
): Promise<HeldClient> {
  const socket = connect({ port, host: "127.0.0.1", localAddress });
  t.teardown(() => socket.destroy());
  let text = "";
  let closed = false;
  socket.on("error", () => undefined);
  const closedPromise = new Promise<void>((resolve) =>
    socket.on("close", () => {
      closed = true;
      resolve();
    }),
  );
  socket.on("data", (chunk: Buffer) => {
    text += chunk.toString("latin1");
    // A slow reader: it takes the head, then reads no more.
    if (read === "head" && text.includes("\r\n\r\n")) socket.pause();
  });
  if (read === "nothing") socket.pause();
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  if (data.length > 0) socket.write(data);
  return { socket, received: () => text, closed: closedPromise, isClosed: () => closed };
}

/** A POST to `/echo/<tag>` whose answer must be its own body: the route works and answers are not mixed up. */
export async function assertRouteServes(
  t: Test,
  proxy: LoopbackProxy,
  tag: string,
  { localAddress, waitMs = 5000 }: { localAddress?: string; waitMs?: number } = {},
): Promise<void> {
  const body = `body-of-${tag}-${Math.random().toString(36).slice(2)}`;
  const answer = await rawRequest(
    proxy.port,
    `POST /echo/${encodeURIComponent(tag)} HTTP/1.1\r\nHost: hub\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    { localAddress, waitMs },
  );
  t.equal(answer.status, 200, `${tag}: the next request on the route is answered`);
  t.ok(answer.text.endsWith(`\r\n\r\n${body}`), `${tag}: …with its own body`);
}

/** An upstream handler for `/echo/…`: answers the request body back. */
export function echoes(request: RawRequest, socket: Socket): boolean {
  if (!request.path.startsWith("/echo/")) return false;
  socket.write(okResponse(request.body));
  return true;
}

/** Runs `count` tasks, `concurrency` at a time. */
export async function inParallel(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/** Waits until the upstream has no socket the proxy left open (or fails naming `what`). */
export async function upstreamSocketsClosed(
  upstream: RawUpstream,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  await waitUntil(() => upstream.openSockets() === 0, what, timeoutMs);
}

/** A WebSocket upgrade request for `path`. */
export function upgradeRequest(path: string, extra = ""): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: hub\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
    `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${extra}\r\n`
  );
}

export const SWITCHING =
  "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
  "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
