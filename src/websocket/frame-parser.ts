/**
 * Incremental RFC 6455 frame parser for one direction of a relayed WebSocket. It only observes: the
 * relay has already forwarded the bytes, so the parser never answers pings, never closes anything and
 * never throws on bad input — on a protocol violation it gives up on that connection and ignores the rest.
 */

import type { MemoryBudget } from "./memory-budget.js";

export type DataOpcode = 1 | 2;

export type MessageHandler = (opcode: DataOpcode, payload: Buffer) => void;

/** Why a data message was not handed out (it was still relayed). */
export type SkipReason = "message-too-large" | "memory-budget";

export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export interface FrameParserOptions {
  /** Data messages larger than this are skipped (frames are still followed, so later messages parse). */
  maxMessageBytes?: number;
  /**
   * Where the next mark of a message of interest starts in `chunk` at or after `from` (-1: none). An unmasked
   * single-frame message lying wholly inside a chunk with no mark in its bytes is skipped unread instead of
   * collected and handed out.
   */
  nextMark?: (chunk: Buffer, from: number) => number;
  /**
   * Decides instead of `nextMark` for an unmasked single-frame message lying wholly inside a chunk: false skips it
   * unread. It sees the payload in place (`chunk[start, start + length)`), e.g. to read a field at a fixed offset.
   */
  isRelevant?: (chunk: Buffer, start: number, length: number) => boolean;
  /**
   * For masked frames (client → server): a single-frame message lying wholly inside a chunk whose unmasked payload
   * does not contain these bytes is skipped without being unmasked — the search runs on the masked bytes.
   */
  maskedMark?: Buffer;
  /**
   * Memory for messages that stay incomplete from one `push` to the next (a message that ends in the chunk
   * that carried it is never held, and never charged). A message that does not fit is skipped.
   */
  budget?: MemoryBudget;
  /** Told about every skipped message, with the bytes it had (or announced) when it was skipped. */
  skips?: SkipListener;
}

/**
 * An object, not a callback, so that the one that owns the parsers (one per kernel socket) can be the listener
 * itself instead of holding a closure for as long as its socket is open.
 */
export interface SkipListener {
  skipped(reason: SkipReason, bytes: number): void;
}

export interface FrameParserStats {
  messages: number;
  controlFrames: number;
  skippedOversize: number;
  /** Messages dropped because the memory budget could not hold them until their end. */
  skippedBudget: number;
  /** Messages with RSV1 set (permessage-deflate), which the parser does not inflate. */
  skippedCompressed: number;
}

/** 2^53: lengths above this cannot be represented exactly, and no real frame comes near it. */
const MAX_SAFE_HIGH_WORD = 0x1fffff;
/** The longest frame header: 2 bytes, a 64-bit length, a masking key. */
const MAX_HEADER_BYTES = 14;

type FrameUse = "collect" | "skip";

/** Scratch memory for one masked needle at a time (the parser runs synchronously). */
let needleScratch = Buffer.alloc(64);

/** `mark` XORed with the masking key as if it started at a payload offset ≡ `phase` (mod 4). */
function maskedNeedle(mark: Buffer, key: number, phase: number): Buffer {
  if (needleScratch.length < mark.length) needleScratch = Buffer.alloc(mark.length);
  for (let i = 0; i < mark.length; i++) {
    const keyByte = (key >>> (8 * (3 - ((phase + i) & 3)))) & 0xff;
    needleScratch[i] = mark[i]! ^ keyByte;
  }
  return needleScratch.subarray(0, mark.length);
}

const EMPTY = Buffer.alloc(0);

/** The unsigned big-endian 32-bit number at `at`, which the caller has checked is inside `bytes`. */
function uint32BE(bytes: Buffer, at: number): number {
  return bytes[at]! * 0x1000000 + ((bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!);
}

export class FrameParser {
  // Counts as plain fields, not one stats object: a busy kernel socket makes a parser per message.
  private messages = 0;
  private controlFrames = 0;
  private skippedOversize = 0;
  private skippedBudget = 0;
  private skippedCompressed = 0;

  private readonly maxMessageBytes: number;
  private readonly nextMark: ((chunk: Buffer, from: number) => number) | undefined;
  private readonly isRelevant: FrameParserOptions["isRelevant"];
  private readonly maskedMark: Buffer | undefined;
  private readonly budget: MemoryBudget | undefined;
  private readonly skips: SkipListener | undefined;
  /** Next mark in the current chunk at or after the last frame start; -1 when there is none. */
  private markAt = -1;
  private failure: string | undefined;

  // Header being assembled byte by byte (headers may be split across reads). Numbers, no buffers: a parser
  // lives as long as its socket, and thousands may be idle at once.
  private headerHave = 0;
  private headerSize = 2;
  private byte0 = 0;
  /** Header offset where the extended length ends and the masking key begins. */
  private lengthEnd = 2;
  private inPayload = false;

  // Current frame.
  private frameLength = 0;
  private frameLeft = 0;
  private frameFin = false;
  private frameControl = false;
  private frameUse: FrameUse = "skip";
  private masked = false;
  /** Masking key, first byte in the highest bits. */
  private mask = 0;
  private maskPos = 0;

  // Current data message (possibly spanning continuation frames).
  private messageOpen = false;
  private messageOpcode: DataOpcode = 1;
  private messageSkipped = false;
  private messageBytes = 0;
  private pieces: Buffer[] | undefined;
  /** Bytes of `pieces`, and how many of them are reserved in the budget. */
  private collected = 0;
  private charged = 0;

  constructor(
    private readonly onMessage: MessageHandler,
    options: FrameParserOptions = {},
  ) {
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.nextMark = options.nextMark;
    this.isRelevant = options.isRelevant;
    this.maskedMark = options.maskedMark;
    this.budget = options.budget;
    this.skips = options.skips;
  }

  get stats(): FrameParserStats {
    const { messages, controlFrames, skippedOversize, skippedBudget, skippedCompressed } = this;
    return { messages, controlFrames, skippedOversize, skippedBudget, skippedCompressed };
  }

  /** True between frames: bytes written now (e.g. a close frame) cannot land inside another frame. */
  get atFrameBoundary(): boolean {
    return this.failure === undefined && !this.inPayload && this.headerHave === 0;
  }

  /**
   * Between frames with no message open and in sync: a new parser would carry on exactly from here, so a caller
   * may drop this one until more bytes come (idle sockets are the many).
   */
  get atRest(): boolean {
    return this.atFrameBoundary && !this.messageOpen;
  }

  /** Why the parser stopped, or undefined while it is still in sync with the stream. */
  get gaveUp(): string | undefined {
    return this.failure;
  }

  /**
   * Feeds the next bytes of the stream. `chunk` is only read, never modified; unmasked payload is handed out as
   * views of it, valid until `push` returns (what the parser keeps longer, it copies).
   */
  push(chunk: Buffer): void {
    if (this.nextMark) this.markAt = this.nextMark(chunk, 0);
    const before = this.pieces;
    const held = before?.length ?? 0;
    let pos = 0;
    while (pos < chunk.length && this.failure === undefined) {
      pos = this.inPayload ? this.consumePayload(chunk, pos) : this.consumeHeader(chunk, pos);
    }
    // Pieces added by this push: past the held ones, or all of them in a list begun during it.
    if (this.pieces !== undefined) this.ownPieces(chunk, this.pieces === before ? held : 0);
    if (this.budget && this.collected > this.charged) this.charge();
  }

  /**
   * An unfinished message keeps its bytes until its end: the views of this chunk among them become copies, so the
   * caller may read into the chunk's memory again. Unmasked pieces are copies already, and so are the views of
   * earlier chunks.
   */
  private ownPieces(chunk: Buffer, from: number): void {
    const pieces = this.pieces as Buffer[];
    for (let i = from; i < pieces.length; i++) {
      if (pieces[i]!.buffer === chunk.buffer) pieces[i] = Buffer.from(pieces[i]!);
    }
  }

  /** The socket is gone: whatever an unfinished message held goes back to the budget. */
  dispose(): void {
    this.dropPieces();
  }

  /** The open message outlives this chunk: its bytes are held until its end, if the budget allows. */
  private charge(): void {
    const budget = this.budget as MemoryBudget;
    const more = this.collected - this.charged;
    if (budget.tryReserve(more)) {
      this.charged += more;
      return;
    }
    const bytes = this.collected;
    this.dropPieces();
    this.messageSkipped = true;
    this.frameUse = "skip";
    this.skippedBudget++;
    this.skips?.skipped("memory-budget", bytes);
  }

  private dropPieces(): void {
    this.pieces = undefined;
    this.budget?.release(this.charged);
    this.charged = 0;
    this.collected = 0;
  }

  private consumeHeader(chunk: Buffer, pos: number): number {
    if (this.headerHave === 0 && pos + MAX_HEADER_BYTES <= chunk.length)
      return this.consumeWholeHeader(chunk, pos);
    while (pos < chunk.length) {
      const byte = chunk[pos++]!;
      const at = this.headerHave++;
      if (at === 0) {
        this.byte0 = byte;
      } else if (at === 1) {
        const lengthCode = byte & 0x7f;
        this.masked = (byte & 0x80) !== 0;
        this.lengthEnd = 2 + (lengthCode === 126 ? 2 : lengthCode === 127 ? 8 : 0);
        this.headerSize = this.lengthEnd + (this.masked ? 4 : 0);
        this.frameLength = lengthCode < 126 ? lengthCode : 0;
        this.mask = 0;
      } else if (at < this.lengthEnd) {
        this.frameLength = this.frameLength * 256 + byte;
        // Bytes 2–5 of a 64-bit length are its high word.
        if (at === 5 && this.lengthEnd === 10 && this.frameLength > MAX_SAFE_HIGH_WORD) {
          this.fail("64-bit frame length out of range");
          return pos;
        }
      } else {
        this.mask = ((this.mask << 8) | byte) >>> 0;
      }
      if (this.headerHave === this.headerSize) {
        this.headerHave = 0;
        this.headerSize = 2;
        this.startFrame(chunk, pos);
        return pos;
      }
    }
    return pos;
  }

  /**
   * A header that lies wholly in `chunk` (nearly every one), read at once: the same fields as byte by byte
   * (`bench/micro/kernel-stream`, the tap on a v1 kernel→browser stream: 130 → 120 ns per message).
   */
  private consumeWholeHeader(chunk: Buffer, pos: number): number {
    this.byte0 = chunk[pos]!;
    const byte1 = chunk[pos + 1]!;
    const lengthCode = byte1 & 0x7f;
    this.masked = (byte1 & 0x80) !== 0;
    let at = pos + 2;
    if (lengthCode < 126) {
      this.frameLength = lengthCode;
    } else if (lengthCode === 126) {
      this.frameLength = (chunk[at]! << 8) | chunk[at + 1]!;
      at += 2;
    } else {
      const high = uint32BE(chunk, at);
      if (high > MAX_SAFE_HIGH_WORD) {
        this.fail("64-bit frame length out of range");
        return at + 4;
      }
      this.frameLength = high * 0x100000000 + uint32BE(chunk, at + 4);
      at += 8;
    }
    this.mask = 0;
    if (this.masked) {
      this.mask = uint32BE(chunk, at);
      at += 4;
    }
    this.startFrame(chunk, at);
    return at;
  }

  /** `pos`: where the frame's payload starts in `chunk`. */
  private startFrame(chunk: Buffer, pos: number): void {
    const b0 = this.byte0;
    const fin = (b0 & 0x80) !== 0;
    const rsv1 = (b0 & 0x40) !== 0;
    const opcode = b0 & 0x0f;
    const length = this.frameLength;
    this.maskPos = 0;
    this.frameFin = fin;
    this.frameControl = opcode >= 8;

    if ((b0 & 0x30) !== 0) return this.fail("RSV2/RSV3 set");
    if (opcode >= 8) {
      if (opcode > 10) return this.fail(`reserved control opcode ${opcode}`);
      if (!fin || length > 125) return this.fail("fragmented or oversized control frame");
      if (rsv1) return this.fail("RSV1 on a control frame");
      this.controlFrames++;
      this.frameUse = "skip";
    } else if (opcode === 0) {
      if (!this.messageOpen) return this.fail("continuation frame without a message");
      if (rsv1) return this.fail("RSV1 on a continuation frame");
      this.frameUse = this.admit(length);
    } else if (opcode === 1 || opcode === 2) {
      if (this.messageOpen) return this.fail("new data frame inside a fragmented message");
      this.messageOpen = true;
      this.messageOpcode = opcode;
      this.messageBytes = 0;
      // A whole message inside a chunk that holds nothing of interest needs no collecting.
      const irrelevant = fin && pos + length <= chunk.length && !this.mayBeWanted(chunk, pos, length);
      this.messageSkipped = rsv1 || irrelevant;
      if (rsv1) this.skippedCompressed++;
      this.frameUse = this.admit(length);
    } else {
      return this.fail(`reserved data opcode ${opcode}`);
    }

    this.frameLeft = length;
    this.inPayload = true;
    if (length === 0) this.endFrame();
  }

  /** Whether the whole single-frame message at `chunk[pos, pos + length)` may be of interest. */
  private mayBeWanted(chunk: Buffer, pos: number, length: number): boolean {
    if (this.masked) return this.maskedMark === undefined || this.containsMasked(chunk, pos, length);
    if (this.isRelevant) return this.isRelevant(chunk, pos, length);
    return this.markWithin(chunk, pos, length);
  }

  /**
   * Whether `maskedMark` occurs in the unmasked payload at `chunk[pos, pos + length)`, searched in the masked bytes:
   * the mark masked as if it started at a payload offset of 0, 1, 2 or 3 modulo 4, each match checked for that
   * offset.
   */
  private containsMasked(chunk: Buffer, pos: number, length: number): boolean {
    const mark = this.maskedMark as Buffer;
    if (length < mark.length) return false;
    const payload = chunk.subarray(pos, pos + length);
    const key = this.mask;
    for (let phase = 0; phase < 4; phase++) {
      const masked = maskedNeedle(mark, key, phase);
      for (let at = payload.indexOf(masked); at !== -1; at = payload.indexOf(masked, at + 1)) {
        if ((at & 3) === phase) return true;
      }
    }
    return false;
  }

  /** Whether a mark starts inside `chunk[pos, pos + length)`; true when marks are not looked for. */
  private markWithin(chunk: Buffer, pos: number, length: number): boolean {
    if (!this.nextMark) return true;
    if (this.markAt !== -1 && this.markAt < pos) this.markAt = this.nextMark(chunk, pos);
    return this.markAt !== -1 && this.markAt < pos + length;
  }

  /** Decides whether the next `length` payload bytes of the open message are kept. */
  private admit(length: number): FrameUse {
    if (this.messageSkipped) return "skip";
    if (this.messageBytes + length > this.maxMessageBytes) {
      this.messageSkipped = true;
      this.dropPieces();
      this.skippedOversize++;
      this.skips?.skipped("message-too-large", this.messageBytes + length);
      return "skip";
    }
    this.messageBytes += length;
    return "collect";
  }

  private consumePayload(chunk: Buffer, pos: number): number {
    const take = Math.min(this.frameLeft, chunk.length - pos);
    if (this.frameUse === "collect") {
      (this.pieces ??= []).push(
        this.masked ? this.unmask(chunk, pos, take) : chunk.subarray(pos, pos + take),
      );
      this.collected += take;
    }
    this.frameLeft -= take;
    if (this.frameLeft === 0) this.endFrame();
    return pos + take;
  }

  private unmask(chunk: Buffer, pos: number, count: number): Buffer {
    const out = Buffer.allocUnsafe(count);
    const key = this.mask;
    const mask = [key >>> 24, (key >>> 16) & 0xff, (key >>> 8) & 0xff, key & 0xff];
    let m = this.maskPos;
    for (let i = 0; i < count; i++) {
      out[i] = chunk[pos + i]! ^ mask[m]!;
      m = (m + 1) & 3;
    }
    this.maskPos = m;
    return out;
  }

  private endFrame(): void {
    this.inPayload = false;
    // Control frames may sit between the fragments of a data message; they never end it.
    if (this.frameControl || !this.frameFin) return;
    const pieces = this.pieces;
    const deliver = !this.messageSkipped;
    this.messageOpen = false;
    this.messageSkipped = false;
    this.dropPieces();
    if (!deliver) return;
    this.messages++;
    const payload =
      pieces === undefined
        ? EMPTY
        : pieces.length === 1
          ? pieces[0]!
          : Buffer.concat(pieces, this.messageBytes);
    this.onMessage(this.messageOpcode, payload);
  }

  private fail(reason: string): void {
    this.failure = reason;
    this.dropPieces();
  }
}
