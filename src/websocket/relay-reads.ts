import type { OnReadOpts, Socket } from "node:net";
import type { Writable } from "node:stream";

/** Bytes one upstream read may fill: Node's own read size. */
const READ_BYTES = 64 * 1024;

/**
 * Read memory shared by every relayed upstream socket (plain TCP or UNIX; a TLS socket reads as usual). By default
 * Node gives each read new memory (64 KiB, then shrunk to what was read): on a kernel socket that streams output,
 * those allocations are most of what the relay allocates, and the external memory they add drives V8 into
 * concurrent major collections. A read's bytes are handled synchronously (written on, inspected), so one memory
 * serves every socket, as long as nothing refers to its bytes after the read: a write that does not complete at
 * once keeps them (the memory is handed off, the next read gets new memory), and whatever else must outlive the
 * read — the upgrade answer's bytes, a kernel message cut across reads — is copied.
 */
let memory: Buffer | undefined;

function nextMemory(): Buffer {
  memory ??= Buffer.allocUnsafe(READ_BYTES);
  return memory;
}

/** The last read's bytes are still referenced: the next read must go to other memory. */
function handOff(): void {
  memory = undefined;
}

/**
 * Where an upstream socket's reads go: the upgrade handshake first, then the relay or the refusal. `sink` returns
 * false to pause the socket (back-pressure); reads arrive only while a sink is set.
 */
export class UpstreamReads {
  sink: ((chunk: Buffer) => boolean) | undefined = undefined;
  /** For `net.connect`'s `onread`. */
  readonly onread: OnReadOpts = {
    buffer: nextMemory,
    callback: (bytes: number, buffer: Uint8Array): boolean =>
      this.sink === undefined || this.sink((buffer as Buffer).subarray(0, bytes)),
  };
}

/**
 * Hands every read of `upstream` to `receive`, through `reads` when the socket reads into the shared memory, else as
 * `data` events; the function returned stops that.
 */
export function receiveReads(
  upstream: Socket,
  reads: UpstreamReads | undefined,
  receive: (chunk: Buffer) => void,
): () => void {
  if (!reads) {
    upstream.on("data", receive);
    return () => upstream.off("data", receive);
  }
  reads.sink = (chunk) => {
    receive(chunk);
    return true;
  };
  return () => {
    reads.sink = undefined;
  };
}

/**
 * Writes the bytes of a read to `to`. With shared read memory (`shared`), bytes that would wait behind others are
 * written as a copy of their own, and memory a write still holds when it returns is handed off.
 */
export function writeReadBytes(to: Writable, chunk: Buffer, shared: boolean): boolean {
  if (!shared) return to.write(chunk);
  if (to.writableLength > 0) return to.write(Buffer.from(chunk));
  const flowing = to.write(chunk);
  if (to.writableLength > 0) handOff();
  return flowing;
}
