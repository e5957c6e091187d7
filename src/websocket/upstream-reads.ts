import type { OnReadOpts, Socket } from "node:net";
import type { Writable } from "node:stream";
import { ReadBuffer } from "../http1/read-buffer.js";

/** Where a relayed upstream's bytes go: `chunk` is a view of read memory, valid only during the call. */
export interface UpstreamBytesConsumer {
  fromServer(chunk: Buffer): void;
}

/**
 * The reads of a plain upstream socket that carries a WebSocket (Node's `onread`): Node reads into memory chosen
 * here instead of into a new 64 KiB ArrayBuffer per read. At a kernel's full output rate those allocations made V8
 * collect every few milliseconds ("external memory pressure"); on one kernel socket streaming at full speed, reading
 * into reused memory took a fifth off the proxy's CPU per message.
 *
 * An idle socket holds no memory of its own: it reads into the memory all resting connections share, whose bytes
 * are copied out at once (see ReadBuffer). A read that fills the memory means more bytes are waiting: the socket
 * then reads into memory of its own, without copies, until a read leaves the memory unfilled (the burst is over)
 * and it rests again. Its own memory is read into again only once the client's socket has written all of it.
 */
export class UpstreamReads extends ReadBuffer {
  private socket: Socket | undefined;
  private consumer: UpstreamBytesConsumer | undefined;
  private outlet: Writable | undefined;

  constructor() {
    // Relayed sockets may rest for hours: none of them takes a place among the pooled connections' keepers.
    super(false);
    // Until a burst, as before the first read: Node asks for the first read's memory when the socket opens.
    this.rest();
  }

  /** The `onread` option for `socket`, which this object then reads for. */
  readOptions(): OnReadOpts {
    return { buffer: this.next, callback: this.onRead };
  }

  /** The socket these reads are for: until `relayTo`, its bytes are emitted as `data` events, as Node does. */
  attach(socket: Socket): void {
    this.socket = socket;
  }

  /** From now on each read goes to `consumer`, which writes it to `outlet` (the client's socket). */
  relayTo(consumer: UpstreamBytesConsumer, outlet: Writable): void {
    this.consumer = consumer;
    this.outlet = outlet;
  }

  private readonly onRead = (length: number, memory: Uint8Array): boolean => {
    const chunk = this.take(memory as Buffer, length);
    const { consumer, outlet } = this;
    if (consumer === undefined || outlet === undefined) {
      // The handshake's reader and a refused upgrade's answer may keep the chunk: its memory is theirs.
      this.handOff();
      this.abandon();
      this.socket?.emit("data", chunk);
      return true;
    }
    consumer.fromServer(chunk);
    if (outlet.writableLength > 0) this.handOff();
    else this.reclaim();
    if (length === memory.byteLength) this.wake();
    else this.rest();
    return true;
  };
}
