import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { ChunkedDecoder } from "../http1/chunked-decoder.js";
import type { BodyFraming } from "../http1/response-head.js";
import { endWithGrace } from "./end-with-grace.js";

/** How long a client gets to read a refusal before its socket is dropped. */
export const REFUSAL_GRACE_MS = 5000;

const discard = (): void => undefined;

/** Where a refused upgrade's answer ends, by its framing: then both sockets close, whatever the upstream keeps. */
class AnswerEnd {
  private remaining: number;
  private readonly decoder: ChunkedDecoder | undefined;

  constructor(private readonly framing: BodyFraming) {
    this.remaining = framing.kind === "length" ? framing.length : 0;
    this.decoder = framing.kind === "chunked" ? new ChunkedDecoder() : undefined;
  }

  get complete(): boolean {
    if (this.framing.kind === "none") return true;
    return this.framing.kind === "length" && this.remaining === 0;
  }

  /** The part of `chunk` that belongs to the answer, and whether the answer ends with it. */
  take(chunk: Buffer): { part: Buffer; ended: boolean } {
    switch (this.framing.kind) {
      case "none":
        return { part: chunk.subarray(0, 0), ended: true };
      case "length": {
        const take = Math.min(this.remaining, chunk.length);
        this.remaining -= take;
        return { part: chunk.subarray(0, take), ended: this.remaining === 0 };
      }
      case "chunked": {
        let end: number;
        try {
          end = (this.decoder as ChunkedDecoder).push(chunk, discard);
        } catch {
          // Malformed framing: what came is passed on, and the answer ends here.
          return { part: chunk, ended: true };
        }
        return end === -1 ? { part: chunk, ended: false } : { part: chunk.subarray(0, end), ended: true };
      }
      default:
        return { part: chunk, ended: false };
    }
  }
}

/**
 * An upstream that refused the upgrade (e.g. Tornado's 403 origin check): its answer's body goes on with
 * back-pressure (a client that does not read holds the upstream, not the proxy's memory) up to the end its
 * framing gives (or the upstream's close), then both sockets close. A refusal that stalls for `idleTimeoutMs`
 * is dropped; the client's own bytes are read and dropped, so its leaving is noticed.
 */
export function passRefusal(
  client: Duplex,
  upstream: Socket,
  rest: Buffer,
  framing: BodyFraming,
  idleTimeoutMs: number,
): void {
  const end = new AnswerEnd(framing);
  let done = false;
  const closeBoth = () => {
    if (done) return;
    done = true;
    upstream.off("data", forward);
    upstream.destroy();
    if (!client.destroyed) endWithGrace(client, REFUSAL_GRACE_MS);
  };
  const forward = (chunk: Buffer): void => {
    const { part, ended } = end.take(chunk);
    const flowing = part.length === 0 || client.write(part);
    if (ended) closeBoth();
    else if (!flowing) {
      upstream.pause();
      client.once("drain", () => upstream.resume());
    }
  };
  upstream.setTimeout(idleTimeoutMs, closeBoth);
  upstream.on("error", closeBoth);
  upstream.on("end", closeBoth);
  upstream.on("close", closeBoth);
  client.on("close", closeBoth);
  client.on("end", closeBoth);
  client.on("error", closeBoth);
  client.resume();
  if (end.complete) {
    closeBoth();
    return;
  }
  if (rest.length > 0) forward(rest);
  if (done) return;
  upstream.on("data", forward);
  // The handshake left the upstream paused; it flows once the client has taken what arrived with the head.
  if (!upstream.isPaused() || client.writableNeedDrain) return;
  upstream.resume();
}
