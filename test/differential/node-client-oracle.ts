import { Agent, request } from "node:http";
import { createServer, type AddressInfo, type Socket } from "node:net";
import { MAX_HEADER_BYTES } from "../../src/http1/response-head.js";
import { LIMITS } from "./differential.js";
import { LlhttpOracle } from "./llhttp-oracle.js";
import { compareOutcomes, type ResponseOutcome } from "./outcome.js";
import { generateCase } from "./response-generator.js";

export interface ClientCheck {
  compared: number;
  /** Cases answered with 101: the client hands those to an `upgrade` listener instead of answering. */
  skipped: number;
  disagreements: { index: number; bytes: Buffer; difference: string }[];
}

/** How many requests run at once. */
const CONCURRENCY = 16;
/** A case whose exchange has not ended by then counts as a disagreement. */
const CASE_TIMEOUT_MS = 5000;

/**
 * Sends cases `first` to `first + count - 1` of the run seeded `seed` with Node's real HTTP client
 * (`http.request`, strict parser, `maxHeaderSize` as the proxy's limit) to a loopback server that answers each
 * request with the case's bytes and closes, and compares what the client reports with the in-process oracle:
 * evidence that the oracle is the client's parser, driven as the client drives it.
 */
export async function crossCheckClient(seed: number, first: number, count: number): Promise<ClientCheck> {
  const cases = new Map<number, Buffer>();
  const server = createServer((socket) => answerWithCase(socket, cases));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const oracle = new LlhttpOracle(MAX_HEADER_BYTES);
  const check: ClientCheck = { compared: 0, skipped: 0, disagreements: [] };
  try {
    let next = first;
    const worker = async () => {
      while (next < first + count) {
        const index = next++;
        const generated = generateCase(seed, index, LIMITS);
        const expected = oracle.parse(generated.bytes, generated.method);
        if (expected.head?.status === 101) {
          check.skipped++;
          continue;
        }
        cases.set(index, generated.bytes);
        const actual = await viaClient(port, index, generated.method);
        cases.delete(index);
        check.compared++;
        // The client reports no offset for the response's end: compare everything else.
        const comparison = compareOutcomes(actual, { ...expected, end: undefined }, false);
        if (!comparison.agree)
          check.disagreements.push({
            index,
            bytes: generated.bytes,
            difference: comparison.difference ?? "",
          });
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  } finally {
    oracle.close();
    server.close();
  }
  return check;
}

/** Reads the request head, whose path names the case, then writes the case's bytes and closes. */
function answerWithCase(socket: Socket, cases: Map<number, Buffer>): void {
  let received = "";
  socket.on("error", () => socket.destroy());
  socket.on("data", (chunk: Buffer) => {
    received += chunk.toString("latin1");
    if (!received.includes("\r\n\r\n")) return;
    socket.removeAllListeners("data");
    const index = Number(/^\w+ \/case\/(\d+) /.exec(received)?.[1]);
    socket.end(cases.get(index) ?? Buffer.alloc(0));
  });
}

/** What Node's HTTP client reports for the answer to case `index`. */
function viaClient(port: number, index: number, method: string): Promise<ResponseOutcome> {
  return new Promise((resolve) => {
    const agent = new Agent({ keepAlive: true });
    const outcome: ResponseOutcome = { complete: false };
    const body: Buffer[] = [];
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      agent.destroy();
      if (outcome.complete) outcome.body = Buffer.concat(body);
      resolve(outcome);
    };
    const timer = setTimeout(() => {
      outcome.error = "timeout";
      outcome.complete = false;
      settle();
    }, CASE_TIMEOUT_MS);
    const req = request({
      host: "127.0.0.1",
      port,
      method,
      path: `/case/${index}`,
      agent,
      maxHeaderSize: MAX_HEADER_BYTES,
      insecureHTTPParser: false,
    });
    // The client drops headers past `maxHeadersCount` (2000 name/value entries by default): a setting of the
    // client, not a rule of the parser. 0 lifts it.
    req.maxHeadersCount = 0;
    req.on("response", (res) => {
      const headers = res.rawHeaders.map((value, i) => (i % 2 === 0 ? value.toLowerCase() : value));
      outcome.head = {
        status: res.statusCode ?? 0,
        statusMessage: res.statusMessage ?? "",
        headers,
        // Set from llhttp's shouldKeepAlive once the head is read; the agent asked for keep-alive.
        keepAlive: req.shouldKeepAlive,
      };
      res.on("data", (data: Buffer) => body.push(data));
      res.on("end", () => {
        outcome.complete = res.complete;
        setImmediate(settle);
      });
      res.on("error", (error) => {
        outcome.error ??= error.message;
        setImmediate(settle);
      });
    });
    req.on("error", (error) => {
      if (!outcome.complete) outcome.error ??= error.message;
      setImmediate(settle);
    });
    req.on("close", () => setTimeout(settle, 20));
    req.end();
  });
}
