import type { Socket } from "node:net";
import t from "tap";
import { encodeFrame, OP_BINARY, OP_TEXT } from "../support/frame-builder.js";
import { openKernelSocket, receiveExactly, relayThroughProxy } from "../support/raw-ws-backend.js";
import type { Teardown } from "../support/temp-dir.js";
import { sleep } from "../support/wait.js";

/**
 * `--websocket-hold` through the binary: after a small read from a WebSocket upstream, the proxy reads that
 * upstream again only when the window ends, so pieces sent one by one meanwhile reach the client in one write. The
 * window here is a second, far longer than the default millisecond, so that waiting and not waiting cannot be
 * confused on a busy machine.
 */

const HOLD_MS = 1000;

const output = (text: string): Buffer => encodeFrame({ opcode: OP_TEXT, payload: Buffer.from(text) });

/** A kernel socket through a proxy started with `args`, whose client notes when each piece arrives. */
async function heldSocket(t: Teardown, args: string[]) {
  const { backend, port } = await relayThroughProxy(t, args);
  const opened = await openKernelSocket(port, backend, "hold");
  const arrivals: Array<{ at: number; bytes: Buffer }> = [];
  opened.client.on("data", (bytes: Buffer) => arrivals.push({ at: performance.now(), bytes }));
  t.teardown(() => {
    opened.client.destroy();
    opened.upstream.socket.destroy();
  });
  // The upgrade's answer may have come before the listener above: what the relay sends starts after it.
  const body = () => Buffer.concat(opened.fromProxy).subarray(opened.bodyStart);
  /** The upstream sends `bytes`; resolves when the client has received everything sent so far. */
  let sent = 0;
  const send = async (upstream: Socket, bytes: Buffer) => {
    upstream.write(bytes);
    sent += bytes.length;
    await receiveExactly(body, sent);
    return arrivals[arrivals.length - 1]!;
  };
  return { ...opened, arrivals, body, send: (bytes: Buffer) => send(opened.upstream.socket, bytes) };
}

t.test("pieces written apart within the window are relayed in one write", async (t) => {
  const socket = await heldSocket(t, ["--websocket-hold", String(HOLD_MS)]);
  const first = await socket.send(output("first"));
  const upstream = socket.upstream.socket;
  const pieces = ["second", "third", "fourth"].map(output);
  for (const piece of pieces) {
    upstream.write(piece);
    await sleep(30);
  }
  await receiveExactly(socket.body, first.bytes.length + Buffer.concat(pieces).length);
  const later = socket.arrivals.filter(({ at }) => at > first.at);
  t.equal(later.length, 1, "three writes of the upstream, 30 ms apart, reached the client as one");
  t.ok(
    later[0]!.at - first.at >= HOLD_MS / 2,
    `after the window (${Math.round(later[0]!.at - first.at)} ms)`,
  );
});

t.test("a client that sends ends its upstream's wait at once", async (t) => {
  const socket = await heldSocket(t, ["--websocket-hold", String(HOLD_MS)]);
  const first = await socket.send(output("status busy"));
  const answer = output("execute_reply");
  socket.upstream.socket.write(answer);
  await sleep(50);
  const request = encodeFrame({
    opcode: OP_TEXT,
    payload: Buffer.from("execute_request"),
    maskKey: Buffer.from([1, 2, 3, 4]),
  });
  socket.client.write(request);
  await receiveExactly(socket.upstream.received, request.length);
  await receiveExactly(socket.body, first.bytes.length + answer.length);
  const waited = socket.arrivals[socket.arrivals.length - 1]!.at - first.at;
  t.ok(
    waited < HOLD_MS * 0.7,
    `the answer came with the client's request, not at the window's end (${Math.round(waited)} ms)`,
  );
});

t.test("a large read is not followed by a wait", async (t) => {
  const socket = await heldSocket(t, ["--websocket-hold", String(HOLD_MS)]);
  await socket.send(output("first"));
  // Sent while the upstream is held: read in one read of 40 KB when the window ends, which starts no new wait.
  const large = await socket.send(encodeFrame({ opcode: OP_BINARY, payload: Buffer.alloc(40 * 1024, 7) }));
  const after = await socket.send(output("right after"));
  t.ok(
    after.at - large.at < HOLD_MS * 0.7,
    `the next small piece came at once (${Math.round(after.at - large.at)} ms)`,
  );
});

t.test("--websocket-hold 0 relays every read at once", async (t) => {
  const socket = await heldSocket(t, ["--websocket-hold", "0"]);
  const first = await socket.send(output("first"));
  const second = await socket.send(output("second"));
  const third = await socket.send(output("third"));
  t.equal(socket.arrivals.filter(({ at }) => at > first.at).length, 2, "each piece came alone");
  // With a hold, the second and the third would each have waited for a window's end.
  t.ok(third.at - first.at < HOLD_MS, `without waiting (${Math.round(third.at - first.at)} ms)`);
  t.ok(second.at >= first.at && third.at >= second.at, "in order");
});
