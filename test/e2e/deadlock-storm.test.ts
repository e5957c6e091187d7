import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import t from "tap";
import WebSocket from "ws";
import { KernelChannel } from "../support/hub-browser.js";
import { startFakeKernelServer } from "../support/fake-kernel.js";
import { startLoopbackProxy } from "../support/loopback-proxy.js";
import { MoodleStandIn } from "../support/moodle-stand-in.js";
import { tempDir } from "../support/temp-dir.js";
import { sleep, waitUntil } from "../support/wait.js";

/*
 * Moodle's database answers every write with a deadlock (`dmlwriteexception` "Deadlock found when trying to get
 * lock; try restarting transaction") while cells keep running. Before, such records were retried 3 times and then
 * dead-lettered; now a deadlock is transient for as long as the spool holds the records: when it ends, every
 * record arrives, once, and none is dead-lettered. DEADLOCK_STORM_MS sets the storm's length (npm test: 20 s;
 * `npm run test:deadlock-storm`: 10 minutes).
 */
const STORM_MS = Number(process.env.DEADLOCK_STORM_MS) || 20_000;
const TOKEN = "0123456789abcdef0123456789abcdef";
/** The longest retry delay (the delivery backoff's ceiling) plus time to deliver. */
const AFTER_STORM_MS = 90_000;

t.test(`a ${Math.round(STORM_MS / 1000)} s deadlock storm: every record arrives once it ends`, async (t) => {
  const moodle = await MoodleStandIn.start({ tokens: [TOKEN], lti: { 13: 7 } });
  const kernel = await startFakeKernelServer();
  t.teardown(async () => {
    await kernel.close();
    await moodle.close();
  });
  const dir = tempDir(t, "ltictr-deadlock-");
  const dataDir = join(dir, "state");
  const tokenFile = join(dir, "token");
  writeFileSync(tokenFile, TOKEN);
  const proxy = await startLoopbackProxy(
    t,
    ["--default-target", kernel.url, "--moodle-url", moodle.baseUrl, "--moodle-token-file", tokenFile],
    { dataDir, ready: /Route added \// },
  );
  await moodle.setMode("deadlock");

  const socket = new WebSocket(
    `${proxy.url.replace("http", "ws")}/api/kernels/${randomUUID()}/channels?session_id=${randomUUID()}`,
  );
  await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
  const channel = new KernelChannel(socket, randomUUID());
  const stormEnds = Date.now() + STORM_MS;
  let cells = 0;
  while (Date.now() < stormEnds) {
    const result = await channel.execute(`x = ${cells}`);
    if (result.status !== "ok") t.fail(`cell ${cells} did not run`);
    cells++;
    await sleep(Math.min(1000, STORM_MS / 40));
  }
  await channel.close();
  const deadFile = join(dataDir, "dead-letters.jsonl");
  const deadLetters = () =>
    existsSync(deadFile) ? readFileSync(deadFile, "utf8").trim().split("\n").filter(Boolean) : [];

  t.ok(cells > 0, `${cells} cells ran during the storm`);
  t.equal(moodle.processed.length, 0, "Moodle stored nothing while deadlocked");
  t.ok(moodle.received > 1, `the proxy kept trying (${moodle.received} calls answered with a deadlock)`);
  t.same(deadLetters(), [], "nothing dead-lettered during the storm");

  await moodle.setMode("up");
  const expected = 2 * cells; // a client and a server record per cell
  await waitUntil(
    () => moodle.processed.length >= expected,
    `all ${expected} records after the storm`,
    AFTER_STORM_MS,
  );
  await sleep(1000);
  t.equal(moodle.processed.length, expected, "every record arrived, once");
  t.equal(moodle.clientData.length, cells, "one client row per cell");
  t.equal(moodle.serverData.length, cells, "one server row per cell");
  t.same(deadLetters(), [], "nothing dead-lettered");
  t.notMatch(proxy.process.stdout() + proxy.process.stderr(), TOKEN, "the token is never logged");
});
