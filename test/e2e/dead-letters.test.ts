import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import t from "tap";
import WebSocket from "ws";
import { KernelChannel } from "../support/hub-browser.js";
import { startFakeKernelServer } from "../support/fake-kernel.js";
import { startLoopbackProxy } from "../support/loopback-proxy.js";
import { MoodleStandIn } from "../support/moodle-stand-in.js";
import { startProxy } from "../support/proxy-process.js";
import { tempDir } from "../support/temp-dir.js";
import { waitUntil } from "../support/wait.js";

/**
 * Moodle refuses the token: records go to the dead-letter file with one log line (never the token) instead of
 * being retried forever; once the token is fixed, `ltictr-proxy replay-dead-letters` puts them back in the spool
 * and the next start delivers them.
 */
const TOKEN = "abcdef0123456789abcdef0123456789";

t.test("dead letters and their replay, through the binary", async (t) => {
  const moodle = await MoodleStandIn.start({ tokens: [], lti: { 13: 7 } });
  const kernel = await startFakeKernelServer();
  t.teardown(async () => {
    await kernel.close();
    await moodle.close();
  });
  const dir = tempDir(t, "ltictr-dead-");
  const dataDir = join(dir, "state");
  const tokenFile = join(dir, "token");
  writeFileSync(tokenFile, TOKEN);
  const proxy = await startLoopbackProxy(
    t,
    ["--default-target", kernel.url, "--moodle-url", moodle.baseUrl, "--moodle-token-file", tokenFile],
    { dataDir, ready: /Route added \// },
  );

  const socket = new WebSocket(
    `${proxy.url.replace("http", "ws")}/api/kernels/${randomUUID()}/channels?session_id=${randomUUID()}`,
  );
  await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
  const channel = new KernelChannel(socket, randomUUID());
  for (let i = 0; i < 3; i++) t.equal((await channel.execute(`x = ${i}`)).status, "ok", `cell ${i} ran`);
  await channel.close();

  const deadFile = join(dataDir, "dead-letters.jsonl");
  const deadLines = () =>
    existsSync(deadFile) ? readFileSync(deadFile, "utf8").trim().split("\n").filter(Boolean) : [];
  await waitUntil(() => deadLines().length === 6, "6 dead letters (3 client + 3 server records)");
  t.equal(moodle.processed.length, 0, "Moodle stored nothing with the invalid token");
  const logs = proxy.process.stdout() + proxy.process.stderr();
  t.match(logs, /invalidtoken/, "the refusal is logged with Moodle's error code");
  t.notMatch(logs, TOKEN, "the token is never logged");
  const callsWhileDead = moodle.received;
  await new Promise((resolve) => setTimeout(resolve, 1500));
  t.equal(moodle.received, callsWhileDead, "dead letters are not retried");

  await proxy.process.stop();
  moodle.addToken(TOKEN);
  const replay = startProxy(["replay-dead-letters", "--data-dir", dataDir]);
  t.equal(await replay.exited(), 0, "replay-dead-letters exits 0");
  t.match(replay.stdout(), /Replayed 6 dead-lettered records/, "it says what it moved");
  t.same(deadLines(), [], "the dead-letter file is empty afterwards");

  await proxy.restart();
  await waitUntil(() => moodle.processed.length === 6, "the replayed records delivered after restart");
  t.equal(moodle.clientData.length, 3, "three client rows");
  t.equal(moodle.serverData.length, 3, "three server rows");
  t.ok(
    moodle.serverData.every((row) => row.status === "ok"),
    "in order: no result marked /nc",
  );
});
