import type { Duplex } from "node:stream";

function destroy(socket: Duplex): void {
  socket.destroy();
}

/**
 * Ends `socket` (after writing `last`, if given) and destroys it if it has not closed within `graceMs`: a client
 * that never reads must not keep it. The timer is cleared when the socket closes, so a socket that closed in time
 * is not held for the rest of the grace period — each one would outlive the young generation and be promoted, and
 * a stream of refused upgrades grew the old generation (and RSS) by ≈ 5 KiB per upgrade.
 */
export function endWithGrace(socket: Duplex, graceMs: number, last?: string): void {
  if (last === undefined) socket.end();
  else socket.end(last);
  if (socket.destroyed) return;
  const timer = setTimeout(destroy, graceMs, socket);
  timer.unref();
  socket.once("close", () => clearTimeout(timer));
}
