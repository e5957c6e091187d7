import { createServer as createHttpServer } from "node:http";
import { createServer, type Socket } from "node:net";
import { join } from "node:path";
import t, { type Test } from "tap";
import type { ResponseHead } from "../../../src/http1/response-head.js";
import type { ExchangeControl, UpstreamRequest } from "../../../src/http1/upstream-exchange.js";
import { UpstreamPool, type PoolOptions } from "../../../src/http1/upstream-pool.js";
import { parseUpstreamTarget } from "../../../src/http1/upstream-target.js";
import { freePort } from "../../support/ports.js";
import { tempDir, type Teardown } from "../../support/temp-dir.js";
import { sleep, waitUntil } from "../../support/wait.js";

// ---- A raw upstream: answers are written byte for byte by each test, so framing is exactly what it says. ----

interface ServerConnection {
  id: number;
  socket: Socket;
  requests: ServerRequest[];
  /** The proxy closed (or reset) its side. */
  closed: boolean;
}

interface ServerRequest {
  connection: ServerConnection;
  /** Index of this request on its connection. */
  index: number;
  /** Head and body exactly as they came over the wire. */
  raw: string;
  requestLine: string;
  /** The body, de-chunked when it came chunked. */
  body: string;
  respond(data: string | Buffer): void;
}

interface RawServer {
  /** The target URL to give a pool. */
  target: string;
  connections: ServerConnection[];
  requests: ServerRequest[];
}

type Handler = (request: ServerRequest) => void | Promise<void>;

/** Where a complete request ends in `buffer`, and its body; undefined while it is incomplete. */
function completeRequest(buffer: Buffer): { end: number; body: Buffer } | undefined {
  const headLength = buffer.indexOf("\r\n\r\n");
  if (headLength === -1) return undefined;
  const bodyStart = headLength + 4;
  const head = buffer.toString("latin1", 0, headLength).toLowerCase();
  if (/\r\ntransfer-encoding: *chunked/.test(head)) {
    const pieces: Buffer[] = [];
    let at = bodyStart;
    for (;;) {
      const lineEnd = buffer.indexOf("\r\n", at);
      if (lineEnd === -1) return undefined;
      const size = parseInt(buffer.toString("latin1", at, lineEnd), 16);
      const dataEnd = lineEnd + 2 + size;
      if (buffer.length < dataEnd + 2) return undefined;
      if (size === 0) return { end: dataEnd + 2, body: Buffer.concat(pieces) };
      pieces.push(buffer.subarray(lineEnd + 2, dataEnd));
      at = dataEnd + 2;
    }
  }
  const length = /\r\ncontent-length: *(\d+)/.exec(head);
  const end = bodyStart + (length ? Number(length[1]) : 0);
  return buffer.length >= end ? { end, body: buffer.subarray(bodyStart, end) } : undefined;
}

async function rawServer(t: Teardown, handler: Handler, socketPath?: string): Promise<RawServer> {
  const connections: ServerConnection[] = [];
  const requests: ServerRequest[] = [];
  const server = createServer((socket) => {
    const connection: ServerConnection = { id: connections.length, socket, requests: [], closed: false };
    connections.push(connection);
    socket.on("error", () => undefined);
    socket.on("close", () => (connection.closed = true));
    let pending = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (let found = completeRequest(pending); found; found = completeRequest(pending)) {
        const raw = pending.toString("latin1", 0, found.end);
        const request: ServerRequest = {
          connection,
          index: connection.requests.length,
          raw,
          requestLine: raw.slice(0, raw.indexOf("\r\n")),
          body: found.body.toString("latin1"),
          respond: (data) => void socket.write(data),
        };
        pending = pending.subarray(found.end);
        connection.requests.push(request);
        requests.push(request);
        void handler(request);
      }
    });
  });
  await new Promise<void>((resolve) => {
    if (socketPath) server.listen(socketPath, resolve);
    else server.listen(0, "127.0.0.1", resolve);
  });
  t.teardown(() => {
    for (const connection of connections) connection.socket.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const address = server.address();
  const target = socketPath
    ? `http+unix://${encodeURIComponent(socketPath)}`
    : `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  return { target, connections, requests };
}

function ok(body: string, extraHeaders = ""): string {
  return `HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extraHeaders}\r\n${body}`;
}

// ---- The client side ----

function makePool(t: Teardown, target: string, options: Partial<PoolOptions> = {}): UpstreamPool {
  const pool = new UpstreamPool(parseUpstreamTarget(target), {
    connectionsPerOrigin: 4,
    keepAliveTimeoutMs: 60_000,
    connectTimeoutMs: 5_000,
    clientTls: { rejectUnauthorized: true },
    ...options,
  });
  t.teardown(() => pool.close());
  return pool;
}

function get(path: string, overrides: Partial<UpstreamRequest> = {}): UpstreamRequest {
  return { method: "GET", path, headers: { host: "upstream" }, body: null, timeoutMs: 0, ...overrides };
}

interface Outcome {
  /** Every sink call in order: head, data, end, error. */
  events: string[];
  head?: ResponseHead;
  chunks: Buffer[];
  error?: NodeJS.ErrnoException;
  body(): string;
}

interface Sent {
  control: ExchangeControl;
  outcome: Outcome;
  /** Resolves at onEnd or onError. */
  settled: Promise<Outcome>;
}

/** Sends `request`; `onData` decides what the sink answers (true when absent). */
function send(
  pool: UpstreamPool,
  request: UpstreamRequest,
  onData?: (chunk: Buffer, control: ExchangeControl) => boolean,
): Sent {
  const chunks: Buffer[] = [];
  const outcome: Outcome = {
    events: [],
    chunks,
    body: () => Buffer.concat(chunks).toString("latin1"),
  };
  let settle: (outcome: Outcome) => void = () => undefined;
  const settled = new Promise<Outcome>((resolve) => (settle = resolve));
  const control = pool.request(request, {
    onHead(head) {
      outcome.events.push("head");
      outcome.head = head;
    },
    onData(chunk) {
      outcome.events.push("data");
      chunks.push(Buffer.from(chunk));
      return onData ? onData(chunk, control) : true;
    },
    onEnd() {
      outcome.events.push("end");
      settle(outcome);
    },
    onError(error) {
      outcome.events.push("error");
      outcome.error = error;
      settle(outcome);
    },
  });
  return { control, outcome, settled };
}

/** A complete answer: head first, then data, ended once by onEnd, no error. */
function assertComplete(t: Test, outcome: Outcome, body: string, status = 200): void {
  t.equal(outcome.head?.status, status, "status");
  t.equal(outcome.events[0], "head", "head first");
  t.equal(outcome.events.at(-1), "end", "ended by onEnd");
  t.equal(outcome.events.filter((event) => event === "end" || event === "error").length, 1, "ended once");
  t.equal(outcome.body(), body, "body");
}

async function* stream(...pieces: string[]): AsyncGenerator<Buffer> {
  for (const piece of pieces) {
    await sleep(1);
    yield Buffer.from(piece);
  }
}

// ---- Framing and keep-alive ----

t.test("two sequential requests share one kept-alive connection", async (t) => {
  const server = await rawServer(t, (request) => request.respond(ok(`you asked ${request.requestLine}`)));
  const pool = makePool(t, server.target);
  const first = await send(pool, get("/a?x=1", { headers: { host: "h", "x-list": ["1", "2"] } })).settled;
  const second = await send(pool, get("/b")).settled;
  assertComplete(t, first, "you asked GET /a?x=1 HTTP/1.1");
  assertComplete(t, second, "you asked GET /b HTTP/1.1");
  t.equal(server.connections.length, 1, "one TCP connection");
  t.equal(server.connections[0].requests.length, 2);
  t.equal(server.requests[0].raw, "GET /a?x=1 HTTP/1.1\r\nhost: h\r\nx-list: 1\r\nx-list: 2\r\n\r\n");
  t.same(first.head?.headers, ["content-length", String("you asked GET /a?x=1 HTTP/1.1".length)]);
  t.equal(first.head?.keepAlive, true);
});

t.test("a Content-Length body split across writes", async (t) => {
  const server = await rawServer(t, async (request) => {
    request.respond("HTTP/1.1 200 OK\r\nContent-Le");
    await sleep(20);
    request.respond("ngth: 11\r\n\r\nhel");
    await sleep(20);
    request.respond("lo world");
  });
  const pool = makePool(t, server.target);
  assertComplete(t, await send(pool, get("/")).settled, "hello world");
  assertComplete(t, await send(pool, get("/")).settled, "hello world");
  t.equal(server.connections.length, 1, "the end of the body was found: the connection is reused");
});

t.test("a chunked body split across writes, extension and trailer included", async (t) => {
  const parts = [
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
    "lo\r\n6;ext=1\r\n world\r",
    "\n0\r\nX-Trailer: t\r\n",
    "\r\n",
  ];
  const server = await rawServer(t, async (request) => {
    for (const part of parts) {
      request.respond(part);
      await sleep(20);
    }
  });
  const pool = makePool(t, server.target);
  const first = await send(pool, get("/")).settled;
  assertComplete(t, first, "hello world");
  t.same(first.head?.framing, { kind: "chunked" });
  assertComplete(t, await send(pool, get("/")).settled, "hello world");
  t.equal(server.connections.length, 1, "the chunked end was found: the connection is reused");
});

t.test("a close-delimited body ends with the upstream's FIN", async (t) => {
  const server = await rawServer(t, async (request) => {
    request.respond("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\npart1");
    await sleep(20);
    request.respond("part2");
    request.connection.socket.end();
  });
  const pool = makePool(t, server.target);
  const first = await send(pool, get("/")).settled;
  assertComplete(t, first, "part1part2");
  t.same(first.head?.framing, { kind: "close" });
  assertComplete(t, await send(pool, get("/")).settled, "part1part2");
  t.equal(server.connections.length, 2, "each close-delimited answer needs a connection of its own");
});

t.test("HEAD, 204 and 304 answers have no body and keep the connection", async (t) => {
  const server = await rawServer(t, (request) => {
    if (request.requestLine.startsWith("HEAD"))
      request.respond("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
    else if (request.requestLine.includes("/204")) request.respond("HTTP/1.1 204 No Content\r\n\r\n");
    else if (request.requestLine.includes("/304"))
      request.respond("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n");
    else request.respond(ok("after"));
  });
  const pool = makePool(t, server.target);
  const headAnswer = await send(pool, get("/", { method: "HEAD" })).settled;
  t.same(headAnswer.events, ["head", "end"]);
  t.same(headAnswer.head?.headers, ["content-length", "100"]);
  t.same((await send(pool, get("/204")).settled).events, ["head", "end"]);
  t.same((await send(pool, get("/304")).settled).events, ["head", "end"]);
  assertComplete(t, await send(pool, get("/after")).settled, "after");
  t.equal(server.connections.length, 1, "no body was waited for on any of them");
});

t.test("interim 100 and 103 answers are skipped, in one write or several", async (t) => {
  const interim =
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n";
  const server = await rawServer(t, async (request) => {
    if (request.index === 0) {
      request.respond(interim + ok("final"));
      return;
    }
    request.respond("HTTP/1.1 100 Continue\r\n");
    await sleep(20);
    request.respond("\r\nHTTP/1.1 103 Early Hints\r\n\r\n");
    await sleep(20);
    request.respond(ok("final"));
  });
  const pool = makePool(t, server.target);
  for (let round = 0; round < 2; round++) {
    const outcome = await send(pool, get("/")).settled;
    assertComplete(t, outcome, "final");
    t.equal(outcome.events.filter((event) => event === "head").length, 1, "only the final head is reported");
  }
  t.equal(server.connections.length, 1);
});

t.test("a 101 nobody asked for is a protocol error", async (t) => {
  const server = await rawServer(t, (request) =>
    request.respond("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"),
  );
  const pool = makePool(t, server.target);
  const outcome = await send(pool, get("/")).settled;
  t.same(outcome.events, ["error"]);
  t.equal(outcome.error?.code, "UPSTREAM_PROTOCOL");
  await waitUntil(() => server.connections[0].closed, "the connection to be dropped");
});

t.test("a status below 100, which llhttp reads, cannot be passed on: a protocol error", async (t) => {
  const server = await rawServer(t, (request) =>
    request.respond("HTTP/1.1 099 Low\r\nContent-Length: 0\r\n\r\n"),
  );
  const pool = makePool(t, server.target);
  const outcome = await send(pool, get("/")).settled;
  t.same(outcome.events, ["error"]);
  t.equal(outcome.error?.code, "UPSTREAM_PROTOCOL");
});

t.test("a reason phrase with control characters is dropped; the answer goes on", async (t) => {
  const server = await rawServer(t, (request) =>
    request.respond(`HTTP/1.1 404 Not\x01Found\x7f\r\nContent-Length: 4\r\n\r\ngone`),
  );
  const pool = makePool(t, server.target);
  const outcome = await send(pool, get("/")).settled;
  assertComplete(t, outcome, "gone", 404);
  t.equal(outcome.head?.statusMessage, "", "Node's server would refuse to write it");
});

t.test("an HTTP/1.0 answer with Transfer-Encoding is read, then its connection closed", async (t) => {
  const server = await rawServer(t, (request) =>
    request.respond(
      "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    ),
  );
  const pool = makePool(t, server.target);
  assertComplete(t, await send(pool, get("/")).settled, "abc");
  await waitUntil(() => server.connections[0].closed, "the connection to be dropped");
  assertComplete(t, await send(pool, get("/")).settled, "abc");
  t.equal(server.connections.length, 2);
});

// ---- Stale keep-alive connections ----

t.test("an idle connection the upstream closed is not used again", async (t) => {
  const server = await rawServer(t, (request) => {
    request.respond(ok("fine"));
    request.connection.socket.end();
  });
  const pool = makePool(t, server.target);
  assertComplete(t, await send(pool, get("/")).settled, "fine");
  await waitUntil(() => server.connections[0].closed, "the proxy to close its side too");
  assertComplete(t, await send(pool, get("/")).settled, "fine");
  t.equal(server.connections.length, 2);
});

t.test("a request racing the upstream's idle close still succeeds", async (t) => {
  const server = await rawServer(t, (request) => {
    request.respond(ok("fine"));
    request.connection.socket.end();
  });
  const pool = makePool(t, server.target);
  for (let round = 0; round < 5; round++) assertComplete(t, await send(pool, get("/")).settled, "fine");
  t.equal(server.connections.length, 5, "one connection per answer, none of them failing a request");
});

t.test(
  "a reset on a reused connection before any answer: an idempotent buffered request is retried once",
  async (t) => {
    const server = await rawServer(t, (request) => {
      if (request.index > 0) request.connection.socket.resetAndDestroy();
      else request.respond(ok(`got ${request.body}`));
    });
    const pool = makePool(t, server.target);
    assertComplete(t, await send(pool, get("/warm")).settled, "got ");
    const put = await send(pool, get("/put", { method: "PUT", body: Buffer.from("payload") })).settled;
    assertComplete(t, put, "got payload");
    t.same(
      server.requests.map((request) => [request.connection.id, request.requestLine, request.body]),
      [
        [0, "GET /warm HTTP/1.1", ""],
        [0, "PUT /put HTTP/1.1", "payload"],
        [1, "PUT /put HTTP/1.1", "payload"],
      ],
      "sent again, whole, on a fresh connection",
    );
  },
);

t.test("a bodiless request is retried the same way", async (t) => {
  const server = await rawServer(t, (request) => {
    if (request.index > 0) request.connection.socket.end();
    else request.respond(ok("fresh"));
  });
  const pool = makePool(t, server.target);
  assertComplete(t, await send(pool, get("/warm")).settled, "fresh");
  assertComplete(t, await send(pool, get("/again")).settled, "fresh");
  t.equal(server.connections.length, 2);
});

t.test("a reset on a reused connection before any answer: a POST is not sent twice", async (t) => {
  const server = await rawServer(t, (request) => {
    if (request.index > 0) request.connection.socket.resetAndDestroy();
    else request.respond(ok("first"));
  });
  const pool = makePool(t, server.target);
  assertComplete(t, await send(pool, get("/warm")).settled, "first");
  const failed = await send(pool, get("/post", { method: "POST", body: Buffer.from("x") })).settled;
  t.same(failed.events, ["error"], "the upstream may have acted on it: the client hears of the failure");
  t.equal(server.requests.length, 2, "sent once");
});

t.test("the retry happens only once", async (t) => {
  const server = await rawServer(t, (request) => {
    if (server.requests.length > 1) request.connection.socket.resetAndDestroy();
    else request.respond(ok("first"));
  });
  const pool = makePool(t, server.target);
  assertComplete(t, await send(pool, get("/warm")).settled, "first");
  const failed = await send(pool, get("/put", { method: "PUT", body: Buffer.from("x") })).settled;
  t.same(failed.events, ["error"]);
  t.equal(failed.error?.code, "ECONNRESET");
  t.equal(server.requests.length, 3, "the original and one retry");
  t.equal(server.connections.length, 2);
});

t.test("a reset on a reused connection: a streamed request body is not retried", async (t) => {
  const server = await rawServer(t, (request) => {
    if (request.index > 0) request.connection.socket.resetAndDestroy();
    else request.respond(ok("first"));
  });
  const pool = makePool(t, server.target);
  assertComplete(t, await send(pool, get("/warm")).settled, "first");
  const failed = await send(pool, get("/upload", { method: "POST", body: stream("abc", "def") })).settled;
  t.same(failed.events, ["error"]);
  t.equal(failed.error?.code, "ECONNRESET");
  t.equal(server.requests.length, 2);
  t.equal(server.connections.length, 1, "no second connection was opened for it");
});

t.test("a fresh connection closing before an answer is not retried", async (t) => {
  const server = await rawServer(t, (request) => {
    request.connection.socket.end();
  });
  const pool = makePool(t, server.target);
  const failed = await send(pool, get("/")).settled;
  t.same(failed.events, ["error"]);
  t.equal(failed.error?.code, "ECONNRESET");
  t.equal(server.connections.length, 1);
});

// ---- Failures ----

t.test("connection refused is reported with its code", async (t) => {
  const pool = makePool(t, `http://127.0.0.1:${await freePort()}`);
  const outcome = await send(pool, get("/")).settled;
  t.same(outcome.events, ["error"]);
  t.equal(outcome.error?.code, "ECONNREFUSED");
});

t.test("timeoutMs without an answer fails with ETIMEDOUT and frees the slot", async (t) => {
  const server = await rawServer(t, (request) => {
    if (request.requestLine.includes("/answered")) request.respond(ok("late but fine"));
  });
  const pool = makePool(t, server.target, { connectionsPerOrigin: 1 });
  const outcome = await send(pool, get("/silent", { timeoutMs: 150 })).settled;
  t.same(outcome.events, ["error"]);
  t.equal(outcome.error?.code, "ETIMEDOUT");
  await waitUntil(() => server.connections[0].closed, "the stuck connection to be closed");
  assertComplete(t, await send(pool, get("/answered", { timeoutMs: 5000 })).settled, "late but fine");
  t.equal(server.connections.length, 2);
});

t.test("timeoutMs in the middle of a body fails after the head", async (t) => {
  const server = await rawServer(t, (request) =>
    request.respond("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"),
  );
  const pool = makePool(t, server.target);
  const outcome = await send(pool, get("/", { timeoutMs: 150 })).settled;
  t.same(outcome.events, ["head", "data", "error"]);
  t.equal(outcome.error?.code, "ETIMEDOUT");
  t.equal(outcome.body(), "abc");
});

t.test("a body cut short by the upstream's FIN fails after the head", async (t) => {
  const answers = [
    "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabcd",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcd",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n",
  ];
  const server = await rawServer(t, (request) => {
    request.respond(answers[server.connections.length - 1]);
    request.connection.socket.end();
  });
  const pool = makePool(t, server.target);
  for (const answer of answers) {
    const outcome = await send(pool, get("/")).settled;
    t.same(outcome.events, ["head", "data", "error"], JSON.stringify(answer));
    t.equal(outcome.error?.code, "ECONNRESET");
    t.equal(outcome.body(), "abcd");
  }
});

t.test("a head cut short by the upstream's FIN fails", async (t) => {
  const server = await rawServer(t, (request) => {
    request.respond("HTTP/1.1 200 OK\r\nContent-Le");
    request.connection.socket.end();
  });
  const pool = makePool(t, server.target);
  const outcome = await send(pool, get("/")).settled;
  t.same(outcome.events, ["error"]);
  t.equal(outcome.error?.code, "ECONNRESET");
});

t.test("malformed heads fail the exchange and drop the connection", async (t) => {
  const answers = [
    "HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",
    "garbage\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    "HTTP/1.1 200 OK\r\nX-Control: a\x01b\r\nContent-Length: 0\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: \xa02\r\n\r\nab",
    `HTTP/1.1 200 OK\r\n${"X-Pad: padding padding padding\r\n".repeat(9000)}`,
  ];
  const server = await rawServer(t, (request) => request.respond(answers[server.connections.length - 1]));
  const pool = makePool(t, server.target);
  for (const [index, answer] of answers.entries()) {
    const outcome = await send(pool, get("/")).settled;
    t.same(outcome.events, ["error"], answer.slice(0, 40));
    t.equal(outcome.error?.code, "UPSTREAM_PROTOCOL");
    await waitUntil(() => server.connections[index].closed, "the connection to be dropped");
  }
});

t.test("a malformed chunked body fails after the head", async (t) => {
  const server = await rawServer(t, (request) =>
    request.respond("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX"),
  );
  const pool = makePool(t, server.target);
  const outcome = await send(pool, get("/")).settled;
  t.same(outcome.events, ["head", "data", "error"]);
  t.equal(outcome.error?.code, "UPSTREAM_PROTOCOL");
  await waitUntil(() => server.connections[0].closed, "the connection to be dropped");
});

t.test("bytes after a complete response: that connection is not reused", async (t) => {
  const server = await rawServer(t, (request) => {
    if (request.connection.id === 0)
      request.respond(`${ok("ok")}HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nextra`);
    else request.respond(ok("clean"));
  });
  const pool = makePool(t, server.target);
  assertComplete(t, await send(pool, get("/")).settled, "ok");
  await waitUntil(() => server.connections[0].closed, "the connection to be dropped");
  assertComplete(t, await send(pool, get("/")).settled, "clean");
  t.equal(server.connections.length, 2);
});

t.test("bytes arriving on an idle connection: it is dropped", async (t) => {
  const server = await rawServer(t, async (request) => {
    request.respond(ok("ok"));
    if (request.connection.id === 0) {
      await sleep(30);
      request.respond("unsolicited");
    }
  });
  const pool = makePool(t, server.target);
  assertComplete(t, await send(pool, get("/")).settled, "ok");
  await waitUntil(() => server.connections[0].closed, "the connection to be dropped");
  assertComplete(t, await send(pool, get("/")).settled, "ok");
  t.equal(server.connections.length, 2);
});

t.test("a HEAD answer with a body attached: the connection is not reused", async (t) => {
  const server = await rawServer(t, (request) =>
    request.respond("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody"),
  );
  const pool = makePool(t, server.target);
  t.same((await send(pool, get("/", { method: "HEAD" })).settled).events, ["head", "end"]);
  await waitUntil(() => server.connections[0].closed, "the connection to be dropped");
});

// ---- Idle time ----

t.test("Keep-Alive: timeout=1 — the connection is not kept", async (t) => {
  const server = await rawServer(t, (request) => request.respond(ok("short", "Keep-Alive: timeout=1\r\n")));
  const pool = makePool(t, server.target);
  const outcome = await send(pool, get("/")).settled;
  assertComplete(t, outcome, "short");
  t.equal(outcome.head?.keepAliveTimeoutMs, 1000);
  // Sent at once: a connection kept for any idle time at all would carry it.
  assertComplete(t, await send(pool, get("/")).settled, "short");
  t.equal(server.connections.length, 2, "the next request needed a new connection");
  await waitUntil(() => server.connections[0].closed, "the proxy to close the first connection");
});

t.test("Keep-Alive: timeout=2 — kept, then closed well before the pool's own idle timeout", async (t) => {
  const server = await rawServer(t, (request) => request.respond(ok("kept", "Keep-Alive: timeout=2\r\n")));
  const pool = makePool(t, server.target, { keepAliveTimeoutMs: 600_000 });
  assertComplete(t, await send(pool, get("/")).settled, "kept");
  assertComplete(t, await send(pool, get("/")).settled, "kept");
  t.equal(server.connections.length, 1, "reused while within the hint");
  await waitUntil(() => server.connections[0].closed, "the hinted idle time to close it", 10_000);
});

t.test("keepAliveTimeoutMs closes idle connections", async (t) => {
  const server = await rawServer(t, (request) => request.respond(ok("x")));
  const pool = makePool(t, server.target, { keepAliveTimeoutMs: 100 });
  assertComplete(t, await send(pool, get("/")).settled, "x");
  await waitUntil(() => server.connections[0].closed, "the idle connection to be closed");
  assertComplete(t, await send(pool, get("/")).settled, "x");
  t.equal(server.connections.length, 2);
});

// ---- The connection bound, abort and backpressure ----

t.test("connectionsPerOrigin bounds connections; a third request waits for a free one", async (t) => {
  const server = await rawServer(t, () => undefined);
  const pool = makePool(t, server.target, { connectionsPerOrigin: 2 });
  const sent = ["/1", "/2", "/3"].map((path) => send(pool, get(path)));
  await waitUntil(() => server.requests.length === 2, "two requests upstream");
  await sleep(100);
  t.equal(server.requests.length, 2, "the third waits");
  t.equal(server.connections.length, 2, "no third connection");
  t.same(sent[2].outcome.events, []);

  const firstServed = server.requests[0];
  firstServed.respond(ok("one"));
  await waitUntil(() => server.requests.length === 3, "the waiting request to go out");
  t.equal(server.requests[2].connection, firstServed.connection, "on the connection just freed");
  t.equal(server.requests[2].requestLine, "GET /3 HTTP/1.1");
  server.requests[1].respond(ok("two"));
  server.requests[2].respond(ok("three"));
  const outcomes = await Promise.all(sent.map((one) => one.settled));
  const byPath = new Map(server.requests.map((request, i) => [request.requestLine, i]));
  t.equal(byPath.size, 3);
  assertComplete(t, outcomes[2], "three");
  t.equal(server.connections.length, 2);
});

t.test("a refused connection lets a waiting request try its own", async (t) => {
  const pool = makePool(t, `http://127.0.0.1:${await freePort()}`, { connectionsPerOrigin: 1 });
  const outcomes = await Promise.all([send(pool, get("/1")).settled, send(pool, get("/2")).settled]);
  t.same(
    outcomes.map((outcome) => outcome.error?.code),
    ["ECONNREFUSED", "ECONNREFUSED"],
    "both fail, neither is stuck",
  );
});

t.test("abort() of a waiting request: it never reaches the upstream", async (t) => {
  const server = await rawServer(t, (request) => {
    if (request.requestLine !== "GET /held HTTP/1.1") request.respond(ok("done"));
  });
  const pool = makePool(t, server.target, { connectionsPerOrigin: 1 });
  const held = send(pool, get("/held"));
  await waitUntil(() => server.requests.length === 1, "the first request upstream");
  const aborted = send(pool, get("/aborted"));
  aborted.control.abort();
  server.requests[0].respond(ok("held"));
  assertComplete(t, await held.settled, "held");
  assertComplete(t, await send(pool, get("/after")).settled, "done");
  t.same(
    server.requests.map((request) => request.requestLine),
    ["GET /held HTTP/1.1", "GET /after HTTP/1.1"],
  );
  t.same(aborted.outcome.events, [], "an aborted exchange hears nothing");
  t.equal(server.connections.length, 1);
});

t.test("abort() of a waiting request: a slot freed by a failure opens no connection for it", async (t) => {
  const server = await rawServer(t, () => undefined);
  const pool = makePool(t, server.target, { connectionsPerOrigin: 1 });
  const failing = send(pool, get("/failing"));
  await waitUntil(() => server.requests.length === 1, "the first request upstream");
  const aborted = send(pool, get("/aborted"));
  aborted.control.abort();
  server.connections[0].socket.destroy();
  t.equal((await failing.settled).error?.code, "ECONNRESET");
  await sleep(100);
  t.equal(server.connections.length, 1, "nothing was connected for the aborted request");
  t.same(aborted.outcome.events, []);
});

t.test("abort() while connecting: nothing is sent, the connection serves the next request", async (t) => {
  const server = await rawServer(t, (request) => request.respond(ok("next")));
  const pool = makePool(t, server.target, { connectionsPerOrigin: 1 });
  const aborted = send(pool, get("/aborted"));
  aborted.control.abort();
  assertComplete(t, await send(pool, get("/next")).settled, "next");
  t.same(
    server.requests.map((request) => request.requestLine),
    ["GET /next HTTP/1.1"],
  );
  t.same(aborted.outcome.events, []);
  t.equal(server.connections.length, 1);
});

t.test("abort() in the middle of a body closes the upstream connection", async (t) => {
  const server = await rawServer(t, (request) => {
    if (request.connection.id === 0)
      request.respond("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nfirst part");
    else request.respond(ok("next"));
  });
  const pool = makePool(t, server.target, { connectionsPerOrigin: 1 });
  const aborted = send(pool, get("/"), (_chunk, control) => {
    control.abort();
    return true;
  });
  await waitUntil(
    () => server.connections.length === 1 && server.connections[0].closed,
    "the upstream socket closed",
  );
  assertComplete(t, await send(pool, get("/")).settled, "next");
  t.same(aborted.outcome.events, ["head", "data"], "no end or error after abort");
  t.equal(server.connections.length, 2);
});

t.test("abort() in onHead: no data, the connection is closed", async (t) => {
  const server = await rawServer(t, (request) => request.respond(ok("never read")));
  const pool = makePool(t, server.target);
  const events: string[] = [];
  const control = pool.request(get("/"), {
    onHead: () => {
      events.push("head");
      control.abort();
    },
    onData: () => {
      events.push("data");
      return true;
    },
    onEnd: () => events.push("end"),
    onError: () => events.push("error"),
  });
  await waitUntil(() => server.connections[0]?.closed === true, "the upstream socket closed");
  t.same(events, ["head"]);
});

t.test("backpressure: onData returning false pauses the upstream until resume()", async (t) => {
  const size = 4 * 1024 * 1024;
  const server = await rawServer(t, (request) =>
    request.respond(
      Buffer.concat([
        Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\n\r\n`),
        Buffer.alloc(size, 7),
      ]),
    ),
  );
  const pool = makePool(t, server.target);
  let full = true;
  const sent = send(pool, get("/"), () => !full);
  await waitUntil(() => sent.outcome.chunks.length > 0, "the first data");
  await sleep(150);
  t.equal(sent.outcome.chunks.length, 1, "no more data while paused");
  t.ok(server.connections[0].socket.writableLength > 0, "the upstream's writes back up");
  full = false;
  sent.control.resume();
  const outcome = await sent.settled;
  t.equal(outcome.events.at(-1), "end");
  t.equal(Buffer.concat(outcome.chunks).length, size);
  t.ok(
    outcome.chunks.every((chunk) => chunk.every((byte) => byte === 7)),
    "the body arrived intact",
  );
});

// Regression guard: ExchangeControl.resume() once reached the connection after the exchange ended. The forwarder
// registers `res.once("drain", resume)` whenever onData returns false, also for the last chunk; the drain fires
// after the connection went back to the pool and carries another exchange, which had paused it for its own slow
// client. That exchange then streams on into an already full client buffer.
t.test("resume() of a finished exchange does not resume the connection's next exchange", async (t) => {
  const size = 4 * 1024 * 1024;
  const server = await rawServer(t, (request) => {
    if (request.index === 0) request.respond(ok("a"));
    else
      request.respond(
        Buffer.concat([
          Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\n\r\n`),
          Buffer.alloc(size, 1),
        ]),
      );
  });
  const pool = makePool(t, server.target);
  const first = send(pool, get("/small"), () => false);
  assertComplete(t, await first.settled, "a");
  const second = send(pool, get("/large"), () => false);
  await waitUntil(() => second.outcome.chunks.length > 0, "the large body's first data");
  t.equal(server.connections.length, 1, "the same connection carries both");
  first.control.resume();
  await sleep(150);
  t.equal(second.outcome.chunks.length, 1, "the second exchange stays paused");
  second.control.abort();
});

// ---- Request bodies ----

t.test("a streamed body without Content-Length goes chunked", async (t) => {
  const server = await rawServer(t, (request) => request.respond(ok(`got ${request.body}`)));
  const pool = makePool(t, server.target);
  const outcome = await send(pool, get("/up", { method: "POST", body: stream("abc", "", "defgh") })).settled;
  assertComplete(t, outcome, "got abcdefgh");
  t.equal(
    server.requests[0].raw,
    "POST /up HTTP/1.1\r\nhost: upstream\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n5\r\ndefgh\r\n0\r\n\r\n",
    "empty pieces are skipped: they would end the body",
  );
  assertComplete(t, await send(pool, get("/again")).settled, "got ");
  t.equal(server.connections.length, 1, "the connection stays usable");
});

t.test("a streamed body with Content-Length goes raw", async (t) => {
  const server = await rawServer(t, (request) => request.respond(ok(`got ${request.body}`)));
  const pool = makePool(t, server.target);
  const headers = { host: "upstream", "content-length": "8" };
  const outcome = await send(pool, get("/up", { method: "PUT", headers, body: stream("abc", "defgh") }))
    .settled;
  assertComplete(t, outcome, "got abcdefgh");
  t.equal(server.requests[0].raw, "PUT /up HTTP/1.1\r\nhost: upstream\r\ncontent-length: 8\r\n\r\nabcdefgh");
});

t.test("a buffered body is sent with its own length", async (t) => {
  const server = await rawServer(t, (request) => request.respond(ok(`got ${request.body}`)));
  const pool = makePool(t, server.target);
  const headers = { host: "upstream", "content-length": "999" };
  const outcome = await send(pool, get("/b", { method: "POST", headers, body: Buffer.from("hello") }))
    .settled;
  assertComplete(t, outcome, "got hello");
  t.equal(server.requests[0].raw, "POST /b HTTP/1.1\r\ncontent-length: 5\r\nhost: upstream\r\n\r\nhello");
});

t.test(
  "a streamed body that fails: the exchange fails, the torn request's connection is dropped",
  async (t) => {
    const server = await rawServer(t, () => undefined);
    const pool = makePool(t, server.target);
    async function* failing(): AsyncGenerator<Buffer> {
      yield Buffer.from("abc");
      await sleep(20);
      throw new Error("client went away");
    }
    const outcome = await send(pool, get("/up", { method: "POST", body: failing() })).settled;
    t.same(outcome.events, ["error"]);
    t.equal(outcome.error?.message, "client went away");
    await waitUntil(() => server.connections[0]?.closed === true, "the upstream connection closed");
    t.equal(server.requests.length, 0, "the upstream never saw a complete request");
  },
);

t.test("an answer before the streamed body is complete: the connection is not reused", async (t) => {
  const server = await rawServer(t, () => undefined);
  const pool = makePool(t, server.target);
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  async function* slow(): AsyncGenerator<Buffer> {
    yield Buffer.from("start");
    await gate;
    yield Buffer.from("rest");
  }
  const sent = send(pool, get("/up", { method: "POST", body: slow() }));
  await waitUntil(() => server.connections.length === 1, "the connection");
  await sleep(20);
  server.connections[0].socket.write("HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n");
  const outcome = await sent.settled;
  t.same(outcome.events, ["head", "end"]);
  t.equal(outcome.head?.status, 413);
  release();
  await waitUntil(() => server.connections[0].closed, "the half-sent request's connection to be dropped");
});

// ---- close() ----

t.test("close() closes idle connections and refuses new requests", async (t) => {
  const server = await rawServer(t, (request) => request.respond(ok("x")));
  const pool = makePool(t, server.target);
  assertComplete(t, await send(pool, get("/")).settled, "x");
  pool.close();
  await waitUntil(() => server.connections[0].closed, "the idle connection to be closed");
  const refused = send(pool, get("/"));
  t.same(refused.outcome.events, ["error"], "failed at once");
  t.equal(refused.outcome.error?.code, "UPSTREAM_POOL_CLOSED");
});

t.test("close() fails waiting requests; a busy one finishes, then its connection closes", async (t) => {
  const server = await rawServer(t, () => undefined);
  const pool = makePool(t, server.target, { connectionsPerOrigin: 1 });
  const busy = send(pool, get("/busy"));
  await waitUntil(() => server.requests.length === 1, "the busy request upstream");
  const waiting = send(pool, get("/waiting"));
  pool.close();
  const failed = await waiting.settled;
  t.same(failed.events, ["error"]);
  t.equal(failed.error?.code, "UPSTREAM_POOL_CLOSED");
  server.requests[0].respond(ok("finished"));
  assertComplete(t, await busy.settled, "finished");
  await waitUntil(() => server.connections[0].closed, "the busy connection to close after its answer");
  t.equal(server.requests.length, 1);
});

// ---- Other transports and real servers ----

t.test("a UNIX socket target (http+unix)", async (t) => {
  const socketPath = join(tempDir(t), "upstream.sock");
  const server = await rawServer(
    t,
    (request) => request.respond(ok(`unix ${request.requestLine}`)),
    socketPath,
  );
  const pool = makePool(t, server.target);
  assertComplete(t, await send(pool, get("/u")).settled, "unix GET /u HTTP/1.1");
  assertComplete(t, await send(pool, get("/v")).settled, "unix GET /v HTTP/1.1");
  t.equal(server.connections.length, 1, "kept alive over the socket too");
});

t.test("against node:http: keep-alive, chunked upload and chunked download", async (t) => {
  let connections = 0;
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      res.setHeader("x-method", req.method ?? "");
      res.write(`${req.method} ${req.url} `);
      res.end(Buffer.concat(chunks));
    });
  });
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const pool = makePool(t, `http://127.0.0.1:${port}`);

  const upload = await send(pool, get("/up", { method: "POST", body: stream("one ", "two ", "three") }))
    .settled;
  assertComplete(t, upload, "POST /up one two three");
  t.same(upload.head?.framing, { kind: "chunked" });
  t.same(upload.head?.headers.slice(0, 2), ["x-method", "POST"]);
  assertComplete(t, await send(pool, get("/down")).settled, "GET /down ");
  assertComplete(t, await send(pool, get("/h", { method: "HEAD" })).settled, "");
  t.equal(connections, 1);
});

t.test("a TLS identity that cannot be used fails each request with an error, never the pool", async (t) => {
  const port = await freePort();
  const pool = makePool(t, `https://127.0.0.1:${port}`, {
    clientTls: { rejectUnauthorized: true, key: Buffer.from("not a key"), cert: Buffer.from("not a cert") },
  });
  for (let attempt = 0; attempt < 2; attempt++) {
    const outcome = await send(pool, get("/")).settled;
    t.same(outcome.events, ["error"], `request ${attempt + 1} ends in onError`);
  }
});

/** Reads a response whose pieces arrive as separate reads; records what each onData got. */
async function readPieces(
  t: Test,
  pieces: string[],
  consumedData: (() => boolean) | undefined,
): Promise<{ status?: number; copies: string[]; views: Buffer[]; memories: Set<ArrayBufferLike> }> {
  const server = await rawServer(t, async (request) => {
    for (const piece of pieces) {
      request.respond(piece);
      await sleep(20);
    }
  });
  const pool = makePool(t, server.target);
  const result = { status: undefined as number | undefined, copies: [] as string[], views: [] as Buffer[] };
  const memories = new Set<ArrayBufferLike>();
  await new Promise<void>((resolve, reject) => {
    pool.request(get("/"), {
      onHead: (head) => (result.status = head.status),
      onData: (chunk) => {
        result.copies.push(chunk.toString("latin1"));
        result.views.push(chunk);
        memories.add(chunk.buffer);
        return true;
      },
      onEnd: resolve,
      onError: reject,
      ...(consumedData ? { consumedData } : {}),
    });
  });
  return { ...result, memories };
}

t.test("read memory is reused from read to read when the sink has consumed the bytes", async (t) => {
  const body = ["first-piece-", "second-piece-", "third-piece"];
  const got = await readPieces(t, [`HTTP/1.1 200 OK\r\nContent-Length: 36\r\n\r\n`, ...body], () => true);
  t.same(got.copies, body, "each read's bytes as they came");
  t.equal(got.memories.size, 1, "one memory for all reads");
});

t.test("a sink that may keep chunks gets new memory for every read: kept chunks stay intact", async (t) => {
  const body = ["aaaaaaaaaaaa", "bbbbbbbbbbbbb", "ccccccccccc"];
  for (const consumedData of [undefined, () => false]) {
    const got = await readPieces(t, [`HTTP/1.1 200 OK\r\nContent-Length: 36\r\n\r\n`, ...body], consumedData);
    t.same(
      got.views.map((view) => view.toString("latin1")),
      body,
      "chunks kept by reference still hold their bytes",
    );
    t.equal(got.memories.size, body.length, "a memory per read");
  }
});

t.test("a head split across reads is kept as a copy while the read memory is reused", async (t) => {
  const got = await readPieces(
    t,
    ["HTTP/1.1 201 Created\r\nX-Long-Header: 0123456789", "abcdef\r\nContent-Length: 4\r\n\r\n", "body"],
    () => true,
  );
  t.equal(got.status, 201, "the head's first part survived the second read");
  t.same(got.copies, ["body"]);
});

t.test("memory a sink held is read into again only after the sink holds nothing", async (t) => {
  const pieces = ["11111111", "22222222", "33333333", "44444444", "55555555", "66666666"];
  const server = await rawServer(t, async (request) => {
    request.respond(`HTTP/1.1 200 OK\r\nContent-Length: ${pieces.join("").length}\r\n\r\n`);
    for (const piece of pieces) {
      await sleep(20);
      request.respond(piece);
    }
  });
  const pool = makePool(t, server.target);
  const held: Buffer[] = [];
  const memories: ArrayBufferLike[] = [];
  const seenWhenReleased: string[] = [];
  let holding = true;
  await new Promise<void>((resolve, reject) => {
    pool.request(get("/"), {
      onHead: () => undefined,
      onData: (chunk) => {
        memories.push(chunk.buffer);
        const read = memories.length;
        // Reads 1–3 and 5 are held, as chunks queued for a slow client are; read 4 and 6 release all held.
        holding = read !== 4 && read !== 6;
        held.push(chunk);
        if (!holding) {
          seenWhenReleased.push(...held.map((view) => view.toString("latin1")));
          held.length = 0;
        }
        return true;
      },
      consumedData: () => !holding,
      onEnd: resolve,
      onError: reject,
    });
  });
  t.same(seenWhenReleased, pieces, "no held chunk was overwritten before it was released");
  t.equal(new Set(memories.slice(0, 4)).size, 4, "reads while bytes are held go to other memory");
  t.equal(memories[4], memories[3], "after a release the same memory is read into again");
  t.ok(memories.slice(0, 3).includes(memories[5]), "memory released by the sink serves a later read");
});

t.test("memory still held by a finished exchange's sink is never read into for the next one", async (t) => {
  const server = await rawServer(t, async (request) => {
    if (request.index === 0) {
      // The body in a read of its own: it sits at the start of its memory, where any later read would land.
      request.respond("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n");
      await sleep(20);
      request.respond("first-answer");
      return;
    }
    request.respond("HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n");
    for (const piece of ["aaaa", "bbbb", "cccc", "dddd"]) {
      await sleep(20);
      request.respond(piece);
    }
  });
  const pool = makePool(t, server.target);
  const kept: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    pool.request(get("/1"), {
      onHead: () => undefined,
      onData: (chunk) => kept.push(chunk) > 0,
      consumedData: () => false,
      onEnd: resolve,
      onError: reject,
    });
  });
  let reads = 0;
  await new Promise<void>((resolve, reject) => {
    pool.request(get("/2"), {
      onHead: () => undefined,
      onData: () => {
        reads++;
        return true;
      },
      // Holds its first read, then releases: later reads go to spare memory.
      consumedData: () => reads !== 1,
      onEnd: resolve,
      onError: reject,
    });
  });
  t.equal(server.connections.length, 1, "both exchanges ran on one connection");
  t.equal(Buffer.concat(kept).toString("latin1"), "first-answer", "the first sink's chunks are intact");
});

// ---- Limits: a client's share, the wait queue and its deadline ----

t.test("a client holds at most its share of a bounded pool; the others are served", async (t) => {
  const server = await rawServer(t, () => undefined);
  const pool = makePool(t, server.target, { connectionsPerOrigin: 4, clientSharePercent: 50 });
  const hog = [1, 2, 3].map((i) => pool.request(get(`/hog${i}`), sinkIgnoring(), "10.0.0.1"));
  const other = send(pool, get("/other"));
  t.ok(hog.length === 3);
  await waitUntil(() => server.requests.length === 3, "two hog requests and the other upstream");
  await sleep(50);
  t.same(
    server.requests.map((request) => request.requestLine).sort(),
    ["GET /hog1 HTTP/1.1", "GET /hog2 HTTP/1.1", "GET /other HTTP/1.1"],
    "the hog's third request waits although connections are free",
  );
  server.requests.find((request) => request.requestLine === "GET /hog1 HTTP/1.1")?.respond(ok("1"));
  await waitUntil(() => server.requests.length === 4, "the hog's third request once its first is done");
  t.equal(server.requests[3].requestLine, "GET /hog3 HTTP/1.1");
  server.requests.find((request) => request.requestLine === "GET /other HTTP/1.1")?.respond(ok("other"));
  assertComplete(t, await other.settled, "other");
});

t.test("a waiting request fails after queueTimeoutMs; beyond queueLimit it fails at once", async (t) => {
  const server = await rawServer(t, () => undefined);
  const pool = makePool(t, server.target, { connectionsPerOrigin: 1, queueLimit: 1, queueTimeoutMs: 200 });
  send(pool, get("/busy"));
  const waiting = send(pool, get("/waiting"));
  const refused = send(pool, get("/refused"));
  t.equal((await refused.settled).error?.code, "UPSTREAM_QUEUE_FULL", "over the queue limit: at once");
  const startedAt = Date.now();
  t.equal((await waiting.settled).error?.code, "UPSTREAM_QUEUE_TIMEOUT", "the waiting one at the deadline");
  t.ok(Date.now() - startedAt < 1000);
  t.equal(server.requests.length, 1, "neither reached the upstream");
  t.same(pool.load, { connections: 1, waiting: 0 });
});

t.test("connectionsPerOrigin 0: no bound", async (t) => {
  const server = await rawServer(t, () => undefined);
  const pool = makePool(t, server.target, { connectionsPerOrigin: 0 });
  for (let i = 0; i < 300; i++) send(pool, get(`/${i}`));
  await waitUntil(() => server.connections.length === 300, "300 connections");
  t.same(pool.load, { connections: 300, waiting: 0 });
});

function sinkIgnoring() {
  return { onHead: () => undefined, onData: () => true, onEnd: () => undefined, onError: () => undefined };
}
