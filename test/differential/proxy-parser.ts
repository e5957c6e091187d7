import type { ResponseHead } from "../../src/http1/response-head.js";
import { ResponseParser } from "../../src/http1/response-parser.js";
import type { ResponseOutcome } from "./outcome.js";

/**
 * What the proxy's parser makes of `bytes` sent in answer to `method`, cut into pieces at `cuts`, the connection
 * closed after them. Every piece is copied into the same memory, which the next piece overwrites, as a
 * connection reads into reused memory: the parser must copy what it keeps, and the body pieces it hands out are
 * consumed at once.
 */
export function parseWithProxy(bytes: Buffer, method: string, cuts: readonly number[]): ResponseOutcome {
  const memory = Buffer.alloc(bytes.length);
  let head: ResponseHead | undefined;
  const body: Buffer[] = [];
  const parser = new ResponseParser(method, {
    onHead: (read) => {
      head = read;
    },
    onData: (data) => {
      body.push(Buffer.from(data));
    },
  });
  let end: number | undefined;
  try {
    let start = 0;
    for (const cut of [...cuts, bytes.length]) {
      if (cut <= start && cut !== bytes.length) continue;
      const piece = memory.subarray(0, cut - start);
      bytes.copy(piece, 0, start, cut);
      const at = parser.push(piece);
      if (at !== -1) {
        end = start + at;
        break;
      }
      start = cut;
    }
    if (end === undefined && parser.end()) end = bytes.length;
  } catch (error) {
    return { head: outcomeHead(head), complete: false, error: (error as Error).message };
  }
  if (end === undefined) return { head: outcomeHead(head), complete: false, error: "incomplete at close" };
  return { head: outcomeHead(head), complete: true, body: Buffer.concat(body), end };
}

function outcomeHead(head: ResponseHead | undefined): ResponseOutcome["head"] {
  if (!head) return undefined;
  return {
    status: head.status,
    statusMessage: head.statusMessage,
    headers: head.headers,
    keepAlive: head.keepAlive,
  };
}
