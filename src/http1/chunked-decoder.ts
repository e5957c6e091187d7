import { UpstreamProtocolError } from "./response-head.js";

const enum State {
  Size,
  SizeLineEnd,
  Data,
  DataEnd,
  Trailer,
}

/** Longest chunk-size line (size, extensions) or trailer line accepted. */
const MAX_LINE = 8 * 1024;

/**
 * Incremental decoder of the chunked transfer coding (RFC 9112 §7.1). Payload comes out as views of the input,
 * never copied; trailers are read and dropped (CHP forwards none either).
 */
export class ChunkedDecoder {
  private state = State.Size;
  private size = 0;
  private sawDigit = false;
  private remaining = 0;
  private lineLength = 0;
  private inExtension = false;
  private finished = false;

  get done(): boolean {
    return this.finished;
  }

  /**
   * Feeds `chunk`; `emit` receives each piece of payload. Returns the offset after the end of the body when the
   * last chunk and trailers are complete (bytes past it belong to no response), otherwise -1.
   * Throws UpstreamProtocolError on malformed framing.
   */
  push(chunk: Buffer, emit: (data: Buffer) => void): number {
    let i = 0;
    while (i < chunk.length) {
      switch (this.state) {
        case State.Size: {
          const c = chunk[i++];
          const digit = hexValue(c);
          if (digit >= 0 && this.lineLength === 0) {
            this.size = this.size * 16 + digit;
            this.sawDigit = true;
            if (this.size > Number.MAX_SAFE_INTEGER) throw new UpstreamProtocolError("chunk size too large");
          } else if (c === 13) {
            if (!this.sawDigit) throw new UpstreamProtocolError("malformed chunk size");
            this.state = State.SizeLineEnd;
          } else if (this.sawDigit && (this.inExtension || c === 59 || c === 32 || c === 9)) {
            // Whitespace, then `;` and extensions, are allowed and ignored; `5 6` is not a size.
            if (c === 59) this.inExtension = true;
            if (++this.lineLength > MAX_LINE) throw new UpstreamProtocolError("chunk extension too long");
          } else {
            throw new UpstreamProtocolError("malformed chunk size");
          }
          break;
        }
        case State.SizeLineEnd:
          if (chunk[i++] !== 10) throw new UpstreamProtocolError("malformed chunk size line");
          this.lineLength = 0;
          this.sawDigit = false;
          this.inExtension = false;
          if (this.size === 0) {
            this.state = State.Trailer;
          } else {
            this.remaining = this.size;
            this.state = State.Data;
          }
          this.size = 0;
          break;
        case State.Data: {
          const take = Math.min(this.remaining, chunk.length - i);
          emit(chunk.subarray(i, i + take));
          i += take;
          this.remaining -= take;
          if (this.remaining === 0) {
            this.state = State.DataEnd;
            this.lineLength = 0;
          }
          break;
        }
        case State.DataEnd: {
          const expected = this.lineLength === 0 ? 13 : 10;
          if (chunk[i++] !== expected) throw new UpstreamProtocolError("chunk not followed by CRLF");
          if (++this.lineLength === 2) {
            this.lineLength = 0;
            this.state = State.Size;
          }
          break;
        }
        case State.Trailer: {
          // Trailer lines until an empty one; lineLength counts the current line's bytes before its CR.
          const c = chunk[i++];
          if (c === 10) {
            if (this.lineLength === 0) {
              this.finished = true;
              return i;
            }
            this.lineLength = 0;
          } else if (c !== 13) {
            if (++this.lineLength > MAX_LINE) throw new UpstreamProtocolError("trailer line too long");
          }
          break;
        }
      }
    }
    return -1;
  }
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const lower = c | 32;
  if (lower >= 97 && lower <= 102) return lower - 87;
  return -1;
}
