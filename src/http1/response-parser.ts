import { ChunkedDecoder } from "./chunked-decoder.js";
import { UpstreamProtocolError, type BodyFraming, type ResponseHead } from "./response-head.js";
import { ResponseHeadReader } from "./response-head-reader.js";

/** Where a parsed response goes. */
export interface ResponseParserSink {
  /** The final head: informational (1xx) heads before it are read and passed over, a 101 is final. */
  onHead(head: ResponseHead): void;
  /** A piece of the body: a view of the bytes pushed, not a copy. */
  onData(data: Buffer): void;
}

/**
 * Reads one upstream response from the bytes of its connection: heads (informational ones passed over), then the
 * body as the final head frames it. Accepts exactly what Node's own HTTP client (llhttp, strict) accepts; the
 * differential test in test/differential holds it to that.
 */
export class ResponseParser {
  private reader: ResponseHeadReader | undefined;
  /** The final head's framing, once it is read (the parser keeps nothing else of the head). */
  private framing: BodyFraming | undefined;
  private remaining = 0;
  private decoder: ChunkedDecoder | undefined;
  private readonly emit: (data: Buffer) => void;

  constructor(
    requestMethod: string,
    private readonly sink: ResponseParserSink,
  ) {
    this.reader = new ResponseHeadReader(requestMethod);
    this.emit = (data) => sink.onData(data);
  }

  /**
   * Feeds the connection's next bytes. Returns -1 while the response goes on, else the offset in `chunk` just
   * past its end: bytes after it belong to no response (after a 101, to another protocol). Throws
   * UpstreamProtocolError when the bytes are not a well-formed response.
   */
  push(chunk: Buffer): number {
    let offset = 0;
    if (!this.framing) {
      offset = this.readHeads(chunk);
      if (offset === -1) return -1;
    }
    return this.readBody(chunk, offset);
  }

  /** The connection was closed: true when that ends the response (a body delimited by the close). */
  end(): boolean {
    return this.framing?.kind === "close";
  }

  /** Returns the offset after the final head once it is read (the sink has it then), else -1. */
  private readHeads(chunk: Buffer): number {
    const reader = this.reader as ResponseHeadReader;
    let piece = chunk;
    for (;;) {
      const read = reader.push(piece);
      if (!read) return -1;
      const { head, rest } = read;
      if (head.status < 100 || head.status >= 200 || head.status === 101) {
        const { framing } = head;
        this.framing = framing;
        this.reader = undefined;
        if (framing.kind === "length") this.remaining = framing.length;
        if (framing.kind === "chunked") this.decoder = new ChunkedDecoder();
        this.sink.onHead(head);
        return chunk.length - rest.length;
      }
      // After an informational answer that does not keep the connection, llhttp refuses whatever follows, so the
      // final answer can never come.
      if (!head.keepAlive) throw new UpstreamProtocolError("upstream closed after an informational response");
      if (rest.length === 0) return -1;
      piece = rest;
    }
  }

  /** Reads the body from `chunk[offset..]`; returns the offset after its end, or -1 while it goes on. */
  private readBody(chunk: Buffer, offset: number): number {
    const framing = this.framing as BodyFraming;
    if (framing.kind === "none") return offset;
    if (framing.kind === "length") {
      const take = Math.min(this.remaining, chunk.length - offset);
      if (take > 0) this.sink.onData(take === chunk.length ? chunk : chunk.subarray(offset, offset + take));
      this.remaining -= take;
      return this.remaining === 0 ? offset + take : -1;
    }
    if (framing.kind === "chunked") {
      const end = (this.decoder as ChunkedDecoder).push(
        offset === 0 ? chunk : chunk.subarray(offset),
        this.emit,
      );
      return end === -1 ? -1 : offset + end;
    }
    if (offset < chunk.length) this.sink.onData(offset === 0 ? chunk : chunk.subarray(offset));
    return -1;
  }
}
