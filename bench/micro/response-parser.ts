/**
 * Micro-benchmark of the upstream response parser alone (no sockets): the cost of reading a typical response
 * head (ns per head) and the throughput of the chunked decoder (MiB/s), the input fed the way a socket delivers
 * it. Time is the process's CPU time (user + system), which other load on a shared machine disturbs less than
 * wall time; figures are medians over rounds.
 *
 *   npm run build && node dist/bench/micro/response-parser.js [--rounds 15]
 *   node dist/bench/micro/response-parser.js --baseline <dir>
 *
 * `--baseline` compares with another build: `<dir>` is its `dist/src/http1` (e.g. of an older commit, built in a
 * scratch checkout). Both run in this process, rounds alternating between them, so that the machine's changing
 * load falls on both alike; separate runs on a shared machine differ by tens of percent.
 */
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { ChunkedDecoder } from "../../src/http1/chunked-decoder.js";
import { ResponseHeadReader } from "../../src/http1/response-head-reader.js";

/** The two classes timed, from this build or from the baseline's. */
interface Parser {
  ResponseHeadReader: new (method: string) => {
    push(chunk: Buffer): { head: { status: number } } | undefined;
  };
  ChunkedDecoder: new () => { push(chunk: Buffer, emit: (data: Buffer) => void): number; done: boolean };
}

const SMALL_HEAD = [
  "HTTP/1.1 200 OK",
  "Content-Type: application/json",
  "Content-Length: 1234",
  "Date: Tue, 01 Dec 2026 21:28:00 GMT",
];

/** What Node's own HTTP server answers (the benchmark's backend, JupyterHub's node parts): a keep-alive pair. */
const NODE_HEAD = [
  "HTTP/1.1 200 OK",
  "content-type: text/plain",
  "content-length: 1024",
  "Date: Tue, 01 Dec 2026 21:28:00 GMT",
  "Connection: keep-alive",
  "Keep-Alive: timeout=5",
];

/** What Jupyter Server answers to an API call behind JupyterHub, give or take. */
const JUPYTER_HEAD = [
  "HTTP/1.1 200 OK",
  "Server: TornadoServer/6.4.1",
  "Content-Type: application/json",
  "Date: Tue, 01 Dec 2026 21:28:00 GMT",
  "X-Jupyterhub-Version: 5.2.1",
  "Access-Control-Allow-Headers: accept, content-type, authorization, x-xsrftoken",
  "Content-Security-Policy: frame-ancestors 'self'; report-uri /user/alice/api/security/csp-report",
  'Etag: "6f1ed002ab5595859014ebf0951522d9"',
  "Set-Cookie: _xsrf=2|6e3c7f1a|5b7a4a2c9d0e1f203a4b5c6d7e8f9012|1764624480; Path=/user/alice/",
  "X-Content-Type-Options: nosniff",
  "Cache-Control: no-cache, no-store, must-revalidate",
  "Vary: Accept-Encoding",
  "Transfer-Encoding: chunked",
];

function head(lines: string[]): Buffer {
  return Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1");
}

/** A chunked body of `total` payload bytes in chunks of `size`, cut into socket reads of `read` bytes. */
function chunkedReads(total: number, size: number, read: number): Buffer[] {
  const parts: Buffer[] = [];
  const payload = Buffer.alloc(size, 0x61);
  for (let sent = 0; sent < total; sent += size)
    parts.push(Buffer.from(`${size.toString(16)}\r\n`), payload, Buffer.from("\r\n"));
  parts.push(Buffer.from("0\r\n\r\n"));
  const whole = Buffer.concat(parts);
  const reads: Buffer[] = [];
  for (let at = 0; at < whole.length; at += read) reads.push(whole.subarray(at, at + read));
  return reads;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** CPU time of the process so far, in ns. */
function cpuNow(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) * 1000;
}

/** ns per head read in one piece; `check` keeps the result alive so the work is not optimised away. */
function timeHeads(parser: Parser, bytes: Buffer, iterations: number): number {
  let check = 0;
  const start = cpuNow();
  for (let i = 0; i < iterations; i++)
    check += new parser.ResponseHeadReader("GET").push(bytes)?.head.status ?? 0;
  const elapsed = cpuNow() - start;
  if (check !== 200 * iterations) throw new Error("head not parsed");
  return elapsed / iterations;
}

/** MiB/s of payload through the chunked decoder. */
function timeChunked(parser: Parser, reads: Buffer[], payloadBytes: number, repeats: number): number {
  let emitted = 0;
  const count = (data: Buffer) => {
    emitted += data.length;
  };
  const start = cpuNow();
  for (let r = 0; r < repeats; r++) {
    const decoder = new parser.ChunkedDecoder();
    for (const read of reads) decoder.push(read, count);
    if (!decoder.done) throw new Error("chunked body not complete");
  }
  const seconds = (cpuNow() - start) / 1e9;
  if (emitted !== payloadBytes * repeats) throw new Error("payload lost");
  return (payloadBytes * repeats) / seconds / (1024 * 1024);
}

async function loadBaseline(dir: string): Promise<Parser> {
  const load = (file: string) => import(pathToFileURL(`${dir}/${file}`).href);
  const [reader, decoder] = await Promise.all([load("response-head-reader.js"), load("chunked-decoder.js")]);
  return { ResponseHeadReader: reader.ResponseHeadReader, ChunkedDecoder: decoder.ChunkedDecoder };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { rounds: { type: "string", default: "15" }, baseline: { type: "string" } },
  });
  const rounds = Number(values.rounds);
  const parsers: Record<string, Parser> = { "this build": { ResponseHeadReader, ChunkedDecoder } };
  if (values.baseline) parsers.baseline = await loadBaseline(values.baseline);

  const small = head(SMALL_HEAD);
  const node = head(NODE_HEAD);
  const jupyter = head(JUPYTER_HEAD);
  const total = 8 * 1024 * 1024;
  const bigChunks = chunkedReads(total, 16 * 1024, 64 * 1024);
  const smallChunks = chunkedReads(total / 8, 256, 64 * 1024);
  const tinyChunks = chunkedReads(total / 64, 16, 64 * 1024);
  const measures: Record<string, (parser: Parser) => number> = {
    "small head (ns)": (parser) => timeHeads(parser, small, 100_000),
    "node server head (ns)": (parser) => timeHeads(parser, node, 100_000),
    "jupyter head (ns)": (parser) => timeHeads(parser, jupyter, 50_000),
    "chunked 16 KiB chunks (MiB/s)": (parser) => timeChunked(parser, bigChunks, total, 64),
    "chunked 256 B chunks (MiB/s)": (parser) => timeChunked(parser, smallChunks, total / 8, 8),
    "chunked 16 B chunks (MiB/s)": (parser) => timeChunked(parser, tinyChunks, total / 64, 8),
  };

  const names = Object.keys(parsers);
  const results = new Map<string, number[]>();
  // Two warm-up rounds let the JIT settle before anything is recorded; the order of the builds alternates.
  for (let round = -2; round < rounds; round++) {
    const order = round % 2 === 0 ? names : [...names].reverse();
    for (const [measure, run] of Object.entries(measures))
      for (const name of order) {
        const figure = run(parsers[name]);
        if (round < 0) continue;
        const key = `${measure}\u0000${name}`;
        results.set(key, [...(results.get(key) ?? []), figure]);
      }
  }

  console.log(
    `response parser micro-benchmark, node ${process.version}, CPU time, median of ${rounds} rounds`,
  );
  console.log(`  ${"".padEnd(32)}${names.map((name) => name.padStart(14)).join("")}`);
  for (const measure of Object.keys(measures)) {
    const figures = names.map((name) => median(results.get(`${measure}\u0000${name}`) ?? []));
    const digits = measure.includes("(ns)") ? 0 : 1;
    console.log(
      `  ${measure.padEnd(32)}${figures.map((figure) => figure.toFixed(digits).padStart(14)).join("")}`,
    );
  }
}

await main();
