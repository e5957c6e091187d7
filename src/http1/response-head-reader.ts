import {
  MAX_HEADER_BYTES,
  parseResponseHead,
  UpstreamProtocolError,
  type ResponseHead,
} from "./response-head.js";

/** A complete response head, the bytes it was read from, and what followed it in the same read. */
export interface ReadResponseHead {
  head: ResponseHead;
  /** The head's bytes, status line to blank line included, as received. */
  raw: Buffer;
  /** Bytes after the head (the start of a body, or of the next protocol). */
  rest: Buffer;
}

/** Made by a constructor, as heads are (see response-head.ts: literals' allocation sites can be tenured). */
class HeadRead implements ReadResponseHead {
  constructor(
    readonly head: ResponseHead,
    readonly raw: Buffer,
    readonly rest: Buffer,
  ) {}
}

/**
 * Most raw bytes a head may take while it is collected. The head is refused at MAX_HEADER_BYTES of text as Node
 * counts it; only blanks before values and line ends come on top of that (at most three bytes a line), so this
 * bound refuses no head Node accepts unless it is padded with tens of KiB of blanks. llhttp streams a head and
 * needs no such bound; the proxy holds the head in memory until it is complete.
 */
export const MAX_RAW_HEAD = 4 * MAX_HEADER_BYTES;

const CR = 13;
const LF = 10;
const HEAD_END = Buffer.from("\r\n\r\n");

const enum Phase {
  /** Before the status line: empty lines are skipped, as llhttp skips them. */
  Lead,
  /** In the status line, which ends at its first CR (the reason phrase may hold any other byte). */
  StatusLine,
  /** The status line's CR has been seen; LF (or, as llhttp accepts, another CR) ends the line. */
  StatusLineCr,
  /** After the status line: the head ends with the first empty line. */
  Headers,
}

/**
 * Collects a response head that may arrive in any number of pieces. Each byte is looked at once, whatever the
 * split: a head fed byte by byte costs what one read of it costs (searching the whole collected buffer again
 * after every piece was quadratic). Pieces are copied while the head is incomplete, because a connection may
 * read into the same memory again.
 */
export class ResponseHeadReader {
  private readonly pieces: Buffer[] = [];
  private length = 0;
  private phase = Phase.Lead;
  /** How many bytes of `\r\n\r\n` the collected bytes end with (the status line's end counts as `\r\n`). */
  private matched = 0;

  constructor(private readonly requestMethod: string) {}

  /** True while part of a head has been collected. */
  get partial(): boolean {
    return this.length > 0;
  }

  /**
   * Feeds the next bytes: the head once complete, otherwise undefined. Throws UpstreamProtocolError for a
   * malformed head or one larger than MAX_HEADER_BYTES. After a head is returned the reader starts afresh
   * (an informational 1xx head is followed by the real one).
   */
  push(chunk: Buffer): ReadResponseHead | undefined {
    let start = 0;
    if (this.phase === Phase.Lead) {
      while (start < chunk.length && (chunk[start] === CR || chunk[start] === LF)) start++;
      if (start === chunk.length) return undefined;
      this.phase = Phase.StatusLine;
    }
    const end = this.endIn(chunk, start);
    if (end === -1) {
      if (this.length + chunk.length - start > MAX_RAW_HEAD)
        throw new UpstreamProtocolError("upstream response head too large");
      this.pieces.push(Buffer.from(chunk.subarray(start)));
      this.length += chunk.length - start;
      return undefined;
    }
    if (this.length + end - start > MAX_RAW_HEAD)
      throw new UpstreamProtocolError("upstream response head too large");
    const raw =
      this.length === 0
        ? chunk.subarray(start, end)
        : Buffer.concat([...this.pieces, chunk.subarray(start, end)]);
    if (this.length !== 0) {
      this.pieces.length = 0;
      this.length = 0;
    }
    this.matched = 0;
    this.phase = Phase.Lead;
    return new HeadRead(parseResponseHead(raw, this.requestMethod), raw, chunk.subarray(end));
  }

  /** Index in `chunk` just past the empty line ending the head, -1 if the head goes on; updates the state. */
  private endIn(chunk: Buffer, from: number): number {
    let i = from;
    if (this.phase === Phase.StatusLine) {
      const cr = chunk.indexOf(CR, i);
      if (cr === -1) return -1;
      this.phase = Phase.StatusLineCr;
      i = cr + 1;
    }
    if (this.phase === Phase.StatusLineCr) {
      if (i === chunk.length) return -1;
      if (chunk[i] !== LF && chunk[i] !== CR)
        throw new UpstreamProtocolError("malformed upstream status line");
      i++;
      this.phase = Phase.Headers;
      this.matched = 2;
    }
    if (this.matched > 0) {
      // An empty line split across pieces: finish the match the previous piece started. On a mismatch no match
      // can have begun inside the matched bytes (no proper suffix of them continues with that byte), so the
      // search goes on from the mismatching byte.
      while (i < chunk.length && chunk[i] === HEAD_END[this.matched]) {
        i++;
        if (++this.matched === 4) return i;
      }
      if (i === chunk.length) return -1;
      this.matched = 0;
    }
    const at = chunk.indexOf(HEAD_END, i);
    if (at !== -1) return at + 4;
    this.matched = trailingMatch(chunk, i);
    return -1;
  }
}

/** How many bytes of `\r\n\r\n` (1–3) `chunk[from..]` ends with, or 0. */
function trailingMatch(chunk: Buffer, from: number): number {
  const n = chunk.length;
  if (n - from >= 3 && chunk[n - 3] === CR && chunk[n - 2] === LF && chunk[n - 1] === CR) return 3;
  if (n - from >= 2 && chunk[n - 2] === CR && chunk[n - 1] === LF) return 2;
  if (n - from >= 1 && chunk[n - 1] === CR) return 1;
  return 0;
}
