import { randomBytes, randomUUID } from "node:crypto";
import t from "tap";
import {
  assertBackToBaseline,
  assertNothingCrashed,
  assertRouteServes,
  echoes,
  footprint,
  settledFootprint,
  holdClient,
  proxyFor,
  rawUpstream,
  repetitions,
  SWITCHING,
  upgradeRequest,
  type HeldClient,
} from "../support/adversarial.js";
import { freePort } from "../support/ports.js";
import { sleep, waitUntil } from "../support/wait.js";

/*
 * The kernel tap reassembles messages that span several reads. Before: it could hold up to 64 MiB per message,
 * per direction, per socket, for messages never finished, and nothing bounded the sum. Now one socket may hold
 * --capture-socket-memory and all of them together --capture-memory; the rest is relayed uninspected, counted
 * (ltictr_capture_skipped_messages) and logged at most once a minute.
 */

const MiB = 1024 * 1024;
const SOCKETS = 16;
const MESSAGE_BYTES = 15 * MiB;

/** The header of a masked text frame that announces `length` bytes and is not the message's last. */
function unfinishedFrameHeader(length: number, mask: Buffer): Buffer {
  const header = Buffer.alloc(14);
  header[0] = 0x01; // FIN clear, text
  header[1] = 0x80 | 127;
  header.writeBigUInt64BE(BigInt(length), 2);
  mask.copy(header, 10);
  return header;
}

async function sendUnfinishedMessage(client: HeldClient): Promise<void> {
  const mask = randomBytes(4);
  const piece = Buffer.alloc(256 * 1024, 0x61);
  for (let i = 0; i < piece.length; i++) piece[i] ^= mask[i & 3];
  const { socket } = client;
  const write = (data: Buffer) =>
    socket.write(data) ? Promise.resolve() : new Promise<void>((resolve) => socket.once("drain", resolve));
  await write(unfinishedFrameHeader(MESSAGE_BYTES + MiB, mask));
  for (let sent = 0; sent < MESSAGE_BYTES; sent += piece.length) await write(piece);
}

t.test("huge unfinished kernel messages: reassembly memory stays within the budgets", async (t) => {
  const upstream = await rawUpstream(t, (request, socket) => {
    if (echoes(request, socket)) return;
    socket.write(SWITCHING);
    socket.resume(); // Reads and drops whatever the client sends.
  });
  const metricsPort = await freePort();
  const proxy = await proxyFor(
    t,
    upstream.url,
    { LTICTR_CAPTURE_SOCKET_MEMORY: String(8 * MiB), LTICTR_CAPTURE_MEMORY: String(32 * MiB) },
    ["--metrics-ip", "127.0.0.1", "--metrics-port", String(metricsPort)],
  );
  await assertRouteServes(t, proxy, "warm-up");
  const pid = proxy.process.child.pid as number;
  const baseline = await settledFootprint(proxy);

  const heldBytes = async () => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    return Number(/^ltictr_capture_held_bytes (\d+)$/m.exec(text)?.[1] ?? NaN);
  };
  const rounds = Math.min(20, Math.max(1, Math.floor(repetitions(300) / 100)));
  let peakHeld = 0;
  let peakGrowthMiB = 0;
  let afterFirstRound = baseline;
  for (let round = 0; round < rounds; round++) {
    const clients: HeldClient[] = [];
    for (let i = 0; i < SOCKETS; i++) {
      const client = await holdClient(
        t,
        proxy.port,
        upgradeRequest(`/user/u/api/kernels/${randomUUID()}/channels?session_id=${randomUUID()}`),
      );
      await waitUntil(() => client.received().startsWith("HTTP/1.1 101 "), "the 101", 5000);
      clients.push(client);
    }
    // Messages are dropped from reassembly once they outgrow a budget, so the tap's account is read while they come.
    let sending = true;
    const watching = (async () => {
      while (sending) {
        peakHeld = Math.max(peakHeld, await heldBytes());
        await sleep(20);
      }
    })();
    await Promise.all(clients.map(sendUnfinishedMessage));
    sending = false;
    await watching;
    await sleep(500);
    peakGrowthMiB = Math.max(peakGrowthMiB, (footprint(pid).rssKiB - baseline.rssKiB) / 1024);
    for (const client of clients) client.socket.destroy();
    await waitUntil(() => upstream.openSockets() === 0, "the kernel sockets to close", 10_000);
    if (round === 0) afterFirstRound = await settledFootprint(proxy);
  }
  // The exact check is the tap's own account; RSS also counts relayed buffers the garbage collector has not yet
  // freed (tens of MiB on a busy machine), so it only has to stay well below the 240 MiB an unbounded tap holds.
  t.ok(
    peakHeld > 0 && peakHeld <= 32 * MiB,
    `reassembly held at most ${(peakHeld / MiB).toFixed(1)} MiB with ${SOCKETS} sockets × ${MESSAGE_BYTES / MiB} MiB unfinished (budget 32 MiB)`,
  );
  t.ok(
    peakGrowthMiB < 160,
    `RSS grew by at most ${Math.round(peakGrowthMiB)} MiB (an unbounded tap: over ${(SOCKETS * MESSAGE_BYTES) / MiB} MiB)`,
  );
  t.equal(await heldBytes(), 0, "nothing held once the sockets closed");
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const skipped = /ltictr_capture_skipped_messages\{reason="memory-budget"\} (\d+)/.exec(metrics);
  t.ok(skipped && Number(skipped[1]) >= SOCKETS * rounds, `skipped messages counted (${skipped?.[1]})`);
  const logLines =
    (proxy.process.stdout() + proxy.process.stderr()).match(/relayed without inspection/g) ?? [];
  t.equal(logLines.length, 1, "and logged once, not once per message");
  await assertRouteServes(t, proxy, "after the unfinished messages");
  // Freed reassembly memory is not always returned to the system by the allocator: later rounds must not add
  // to what the first one left. The exact check is the heap and Buffers after a full collection (at most +4 MiB);
  // RSS may keep up to about two rounds' memory in the allocator (the 32 MiB budget and the relayed buffers: +38 and
  // +71 MiB were seen in CI with the heap unchanged), where a tap that kept the messages would add 240 MiB a round.
  await assertBackToBaseline(
    t,
    proxy,
    { ...afterFirstRound, fds: baseline.fds },
    `${rounds} rounds of unfinished kernel messages`,
    { rssSlackMiB: 128 },
  );
  assertNothingCrashed(t, proxy);
});
