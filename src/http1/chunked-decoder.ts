import { HEADER_VALUE, QUOTED_TEXT, TOKEN } from "./http-chars.js";
import { MAX_HEADER_BYTES, UpstreamProtocolError } from "./response-head.js";

const enum State {
  SizeStart,
  Size,
  ExtensionStart,
  ExtensionName,
  ExtensionValue,
  QuotedValue,
  QuotedPair,
  QuotedValueEnd,
  SizeLineEnd,
  Data,
  DataEnd,
  DataEndLf,
  TrailerLineStart,
  TrailerName,
  TrailerValueStart,
  TrailerValue,
  TrailerLineEnd,
  TrailerLineAfter,
  LastLineEnd,
}

const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;
const SEMICOLON = 59;
const EQUALS = 61;
const QUOTE = 34;
const BACKSLASH = 92;
const COLON = 58;

/**
 * Most bytes of extension names and values on one chunk-size line, as Node's HTTP parser counts them (separators
 * not counted); beyond it Node refuses the body.
 */
export const MAX_CHUNK_EXTENSION_BYTES = 16 * 1024;
/** A size of more than 16 hex digits (leading zeros aside) overflows llhttp's 64 bits and is refused. */
const MAX_SIZE_DIGITS = 16;
const CONTENT_LENGTH = "content-length";

/** Hex digit values by byte, -1 for other bytes. */
const HEX = new Int8Array(256).fill(-1);
for (let digit = 0; digit < 16; digit++)
  HEX[digit.toString(16).charCodeAt(0)] = HEX[digit.toString(16).toUpperCase().charCodeAt(0)] = digit;

/**
 * Incremental decoder of the chunked transfer coding (a body sent as `<hex size>[;extensions] CR LF <bytes> CR LF`
 * pieces, ended by a zero-size piece, optional trailer fields and a blank line), as strict as llhttp: the size is hex
 * digits (no blanks after it); an extension is `;name`, `;name=token` or `;name="quoted string"` with nothing
 * between them; every line ends in CR LF; trailers follow the header rules (and may not be Content-Length).
 * Payload comes out as views of the input, never copied; trailers are checked and dropped (CHP forwards none
 * either).
 */
export class ChunkedDecoder {
  private state = State.SizeStart;
  /** The chunk size being read, then the bytes of it still to come. Beyond 2^53 it is inexact, and never reached. */
  private size = 0;
  private sizeDigits = 0;
  private extensionBytes = 0;
  private trailerBytes = 0;
  /** How many bytes of the trailer name so far match `content-length`, or -1. */
  private nameMatch = 0;
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
    const length = chunk.length;
    while (i < length) {
      const state = this.state;
      if (state === State.Data) {
        const take = Math.min(this.size, length - i);
        emit(take === length ? chunk : chunk.subarray(i, i + take));
        i += take;
        this.size -= take;
        if (this.size === 0) this.state = State.DataEnd;
        continue;
      }
      // The usual framing, whole in this chunk, is read at once; anything else byte by byte below.
      if (state === State.SizeStart) {
        const next = this.plainSizeLine(chunk, i);
        if (next !== -1) {
          i = next;
          continue;
        }
      } else if (state === State.DataEnd && i + 1 < length && chunk[i] === CR && chunk[i + 1] === LF) {
        i += 2;
        this.state = State.SizeStart;
        continue;
      }
      const c = chunk[i++];
      switch (state) {
        case State.SizeStart:
          if (HEX[c] < 0) throw new UpstreamProtocolError("malformed chunk size");
          this.size = 0;
          this.sizeDigits = 0;
          this.extensionBytes = 0;
          this.addDigit(c);
          this.state = State.Size;
          break;
        case State.Size:
          if (HEX[c] >= 0) this.addDigit(c);
          else if (c === CR) this.state = State.SizeLineEnd;
          else if (c === SEMICOLON) this.state = State.ExtensionStart;
          else throw new UpstreamProtocolError("malformed chunk size");
          break;
        case State.ExtensionStart:
          if (c === SP || c === CR) throw new UpstreamProtocolError("malformed chunk extension");
          this.extensionName(c);
          break;
        case State.ExtensionName:
          this.extensionName(c);
          break;
        case State.ExtensionValue:
          if (c === QUOTE) this.countExtension(State.QuotedValue);
          else if (TOKEN[c] === 1) this.countExtension(State.ExtensionValue);
          else this.extensionEnd(c);
          break;
        case State.QuotedValue:
          if (QUOTED_TEXT[c] === 1) this.countExtension(State.QuotedValue);
          else if (c === QUOTE) this.countExtension(State.QuotedValueEnd);
          else if (c === BACKSLASH) this.countExtension(State.QuotedPair);
          else throw new UpstreamProtocolError("malformed chunk extension");
          break;
        case State.QuotedPair:
          if (HEADER_VALUE[c] !== 1) throw new UpstreamProtocolError("malformed chunk extension");
          this.countExtension(State.QuotedValue);
          break;
        case State.QuotedValueEnd:
          this.extensionEnd(c);
          break;
        case State.SizeLineEnd:
          if (c !== LF) throw new UpstreamProtocolError("malformed chunk size line");
          this.sizeRead();
          break;
        case State.DataEnd:
          if (c !== CR) throw new UpstreamProtocolError("chunk not followed by CRLF");
          this.state = State.DataEndLf;
          break;
        case State.DataEndLf:
          if (c !== LF) throw new UpstreamProtocolError("chunk not followed by CRLF");
          this.state = State.SizeStart;
          break;
        case State.TrailerLineAfter:
          // A line starting with a blank would continue the previous one (obsolete line folding): refused.
          if (c === SP || c === HTAB) throw new UpstreamProtocolError("folded trailer line");
          this.trailerLineStart(c);
          break;
        case State.TrailerLineStart:
          this.trailerLineStart(c);
          break;
        case State.TrailerName:
          if (TOKEN[c] === 1) this.trailerName(c);
          else if (c !== COLON) throw new UpstreamProtocolError("malformed trailer line");
          else if (this.nameMatch === CONTENT_LENGTH.length)
            throw new UpstreamProtocolError("Content-Length in the trailers of a chunked body");
          else this.state = State.TrailerValueStart;
          break;
        case State.TrailerValueStart:
          if (c === SP || c === HTAB) break;
          if (c === CR) this.state = State.TrailerLineEnd;
          else if (HEADER_VALUE[c] === 1) this.countTrailer(State.TrailerValue);
          else throw new UpstreamProtocolError("forbidden character in trailer value");
          break;
        case State.TrailerValue:
          if (HEADER_VALUE[c] === 1) this.countTrailer(State.TrailerValue);
          else if (c === CR) this.state = State.TrailerLineEnd;
          else throw new UpstreamProtocolError("forbidden character in trailer value");
          break;
        case State.TrailerLineEnd:
          if (c !== LF) throw new UpstreamProtocolError("malformed trailer line");
          this.state = State.TrailerLineAfter;
          break;
        case State.LastLineEnd:
          if (c !== LF) throw new UpstreamProtocolError("malformed end of chunked body");
          this.finished = true;
          return i;
      }
    }
    return -1;
  }

  /**
   * A size line of hex digits and CR LF, whole in `chunk` at `from`: read at once. Returns the index after it, or
   * -1 for anything else (extensions, a line split across chunks, leading zeros past 16 digits, faults).
   */
  private plainSizeLine(chunk: Buffer, from: number): number {
    let i = from;
    let size = 0;
    for (let digit = HEX[chunk[i]]; digit >= 0; digit = HEX[chunk[++i]]) size = size * 16 + digit;
    const digits = i - from;
    if (digits === 0 || digits > MAX_SIZE_DIGITS || chunk[i] !== CR || chunk[i + 1] !== LF) return -1;
    this.size = size;
    this.sizeRead();
    return i + 2;
  }

  private addDigit(c: number): void {
    if (this.sizeDigits > 0 || c !== 0x30) this.sizeDigits++;
    if (this.sizeDigits > MAX_SIZE_DIGITS) throw new UpstreamProtocolError("chunk size too large");
    this.size = this.size * 16 + HEX[c];
  }

  /** The size line is complete: data follows, or for the last chunk the trailers. */
  private sizeRead(): void {
    this.extensionBytes = 0;
    if (this.size === 0) {
      this.trailerBytes = 0;
      this.state = State.TrailerLineStart;
    } else {
      this.state = State.Data;
    }
  }

  /** A byte of an extension name (or what ends it: `=`, `;`, CR). */
  private extensionName(c: number): void {
    if (TOKEN[c] === 1) this.countExtension(State.ExtensionName);
    else if (c === EQUALS) this.state = State.ExtensionValue;
    else this.extensionEnd(c);
  }

  /** What may follow an extension: another one, or the end of the line. */
  private extensionEnd(c: number): void {
    if (c === SEMICOLON) this.state = State.ExtensionStart;
    else if (c === CR) this.state = State.SizeLineEnd;
    else throw new UpstreamProtocolError("malformed chunk extension");
  }

  private countExtension(next: State): void {
    if (++this.extensionBytes > MAX_CHUNK_EXTENSION_BYTES)
      throw new UpstreamProtocolError("chunk extensions too long");
    this.state = next;
  }

  /** The first byte of a trailer line: a name starts, or the empty line ends the body. */
  private trailerLineStart(c: number): void {
    if (c === CR) {
      this.state = State.LastLineEnd;
    } else if (TOKEN[c] === 1) {
      this.nameMatch = 0;
      this.trailerName(c);
    } else {
      throw new UpstreamProtocolError("malformed trailer line");
    }
  }

  private trailerName(c: number): void {
    if (this.nameMatch >= 0)
      this.nameMatch = (c | 0x20) === CONTENT_LENGTH.charCodeAt(this.nameMatch) ? this.nameMatch + 1 : -1;
    this.countTrailer(State.TrailerName);
  }

  private countTrailer(next: State): void {
    if (++this.trailerBytes >= MAX_HEADER_BYTES) throw new UpstreamProtocolError("trailers too large");
    this.state = next;
  }
}
