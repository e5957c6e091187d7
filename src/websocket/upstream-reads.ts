import type { OnReadOpts, Socket } from "node:net";
import type { Writable } from "node:stream";
import { ReadBuffer } from "../http1/read-buffer.js";
import type { HeldReads, ReadHold } from "./read-hold.js";

/** Where a relayed upstream's bytes go: `chunk` is a view of read memory, valid only during the call. */
export interface UpstreamBytesConsumer {
  fromServer(chunk: Buffer): void;
  /** False once the relay stopped (shutdown's close frames are out): held reads then stay stopped. */
  readonly relaying: boolean;
}

/**
 * Reads smaller than this are held (see ReadHold). A larger one means the upstream sends as fast as the path
 * allows: holding it would stall it against TCP's receive window (measured: one socket streaming at full speed
 * fell from 250,000 to 36,000 messages/s when every read was held for 1 ms), so it is read again at once.
 */
export const HELD_READ_BYTES = 16 * 1024;

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
export class UpstreamReads extends ReadBuffer implements HeldReads {
  private socket: Socket | undefined;
  private consumer: UpstreamBytesConsumer | undefined;
  private outlet: Writable | undefined;
  private hold: ReadHold | undefined;
  private held = false;

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

  /**
   * From now on each read goes to `consumer`, which writes it to `outlet` (the client's socket); with `hold`, a
   * small read is followed by a pause until the hold's window ends.
   */
  relayTo(consumer: UpstreamBytesConsumer, outlet: Writable, hold?: ReadHold): void {
    this.consumer = consumer;
    this.outlet = outlet;
    this.hold = hold;
  }

  /** Reads again, unless they are not held, the relay stopped, or the client must drain first (its drain resumes). */
  releaseHold(): void {
    if (!this.held) return;
    this.held = false;
    const { socket, consumer, outlet } = this;
    if (socket === undefined || socket.destroyed || consumer?.relaying !== true || outlet?.writableNeedDrain)
      return;
    socket.resume();
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
    if (length === memory.byteLength) {
      this.wake();
      return true;
    }
    this.rest();
    if (this.hold === undefined || length >= HELD_READ_BYTES || this.held) return true;
    this.held = true;
    this.hold.add(this);
    // Node's documented way to pause from `onread`: no more reads until `socket.resume()`.
    return false;
  };
}
