import { MAX_CHUNK_EXTENSION_BYTES } from "../../src/http1/chunked-decoder.js";
import { MAX_HEADER_BYTES } from "../../src/http1/response-head.js";
import { LlhttpOracle } from "./llhttp-oracle.js";
import { compareOutcomes, reusable, type ResponseOutcome } from "./outcome.js";
import { parseWithProxy } from "./proxy-parser.js";
import { Random } from "./random.js";
import { generateCase, type ResponseCase } from "./response-generator.js";

/** The limits the generator builds boundary cases around, and both parsers are held to. */
export const LIMITS = { headerBytes: MAX_HEADER_BYTES, chunkExtensionBytes: MAX_CHUNK_EXTENSION_BYTES };

export interface Disagreement {
  case: ResponseCase;
  /** Where the proxy's input was cut into pieces ([] = one piece). */
  cuts: number[];
  difference: string;
  proxy: ResponseOutcome;
  llhttp: ResponseOutcome;
}

export interface DifferentialSummary {
  seed: number;
  cases: number;
  /** Cases where every split of the input gave llhttp's outcome. */
  agreements: number;
  /** Cases llhttp read to a complete response, and cases it refused. */
  accepted: number;
  rejected: number;
  /** Complete responses after which the connection could be reused. */
  reusable: number;
  /** Cases where the one documented deviation (HTTP/1.0 with Transfer-Encoding closes) decided keep-alive. */
  deviations: number;
  /** The first disagreements, up to the limit asked for. */
  disagreements: Disagreement[];
  disagreementCount: number;
  /** Per tag (framing, method, mutation): how many cases had it, and how many of those disagreed. */
  tags: Map<string, { cases: number; disagreements: number }>;
  elapsedMs: number;
}

export interface DifferentialOptions {
  seed: number;
  cases: number;
  /** Index of the first case (to replay a range). */
  first?: number;
  /** How many disagreements to keep in full. */
  keep?: number;
  onProgress?: (done: number) => void;
}

/**
 * Runs cases `first` to `first + cases - 1` of the run seeded `seed` through llhttp and through the proxy's
 * parser, the proxy's input whole, cut at random places, and (for small inputs, now and then) byte by byte.
 */
export function runDifferential(options: DifferentialOptions): DifferentialSummary {
  const { seed, cases, first = 0, keep = 20 } = options;
  const started = process.hrtime.bigint();
  const oracle = new LlhttpOracle(MAX_HEADER_BYTES);
  const summary: DifferentialSummary = {
    seed,
    cases,
    agreements: 0,
    accepted: 0,
    rejected: 0,
    reusable: 0,
    deviations: 0,
    disagreements: [],
    disagreementCount: 0,
    tags: new Map(),
    elapsedMs: 0,
  };
  try {
    for (let index = first; index < first + cases; index++) {
      const generated = generateCase(seed, index, LIMITS);
      const llhttp = oracle.parse(generated.bytes, generated.method);
      const disagreement = checkCase(generated, llhttp, seed);
      for (const tag of generated.tags) {
        const counts = summary.tags.get(tag) ?? { cases: 0, disagreements: 0 };
        counts.cases++;
        if (disagreement !== undefined && disagreement !== "deviation") counts.disagreements++;
        summary.tags.set(tag, counts);
      }
      if (llhttp.complete) summary.accepted++;
      else summary.rejected++;
      if (reusable(llhttp, generated.bytes.length)) summary.reusable++;
      if (disagreement === undefined) {
        summary.agreements++;
      } else if (disagreement === "deviation") {
        summary.agreements++;
        summary.deviations++;
      } else {
        summary.disagreementCount++;
        if (summary.disagreements.length < keep) summary.disagreements.push(disagreement);
      }
      if (options.onProgress && (index - first + 1) % 10_000 === 0) options.onProgress(index - first + 1);
    }
  } finally {
    oracle.close();
  }
  summary.elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  return summary;
}

/** The first split on which the proxy's outcome differs from llhttp's; "deviation" if only the documented one. */
function checkCase(
  generated: ResponseCase,
  llhttp: ResponseOutcome,
  seed: number,
): Disagreement | "deviation" | undefined {
  const { bytes, method } = generated;
  const random = Random.forCase(seed ^ 0x5bd1e995, generated.index);
  const splits: number[][] = [[], random.cuts(bytes.length, 12)];
  if (bytes.length < 2048 && random.chance(0.1))
    splits.push(Array.from({ length: bytes.length }, (_, i) => i + 1));
  let deviation = false;
  for (const cuts of splits) {
    const proxy = parseWithProxy(bytes, method, cuts);
    const comparison = compareOutcomes(proxy, llhttp);
    if (!comparison.agree)
      return { case: generated, cuts, difference: comparison.difference ?? "", proxy, llhttp };
    deviation ||= comparison.deviation;
  }
  return deviation ? "deviation" : undefined;
}

/** `bytes` with everything but printable ASCII escaped, for reports. */
export function escapeBytes(bytes: Buffer, limit = 600): string {
  let text = "";
  for (const byte of bytes.subarray(0, limit)) {
    if (byte === 0x0d) text += "\\r";
    else if (byte === 0x0a) text += "\\n";
    else if (byte === 0x09) text += "\\t";
    else if (byte === 0x5c) text += "\\\\";
    else if (byte >= 0x20 && byte < 0x7f) text += String.fromCharCode(byte);
    else text += `\\x${byte.toString(16).padStart(2, "0")}`;
  }
  return bytes.length > limit ? `${text}… (${bytes.length} bytes)` : text;
}
