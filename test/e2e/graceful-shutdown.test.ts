import { readFileSync, writeFileSync } from "node:fs";
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

/**
 * SIGTERM during traffic: in-flight HTTP finishes, WebSockets are closed with 1001, the process exits 2, and
 * every record captured before the stop is delivered (after a restart, since Moodle is down meanwhile).
 */
const MOODLE_TOKEN = "00112233445566778899aabbccddeeff";

t.test("graceful shutdown loses nothing", async (t) => {
  const moodle = await MoodleStandIn.start({ tokens: [MOODLE_TOKEN], lti: { 13: 7 } });
  const kernel = await startFakeKernelServer();
  t.teardown(async () => {
    await kernel.close();
    await moodle.close();
  });
  const dir = tempDir(t, "ltictr-shutdown-");
  const tokenFile = join(dir, "moodle-token");
  writeFileSync(tokenFile, MOODLE_TOKEN);
  const recordsFile = join(dir, "records.jsonl");
  const proxy = await startLoopbackProxy(
    t,
    [
      "--default-target",
      kernel.url,
      "--records-file",
      recordsFile,
      "--moodle-url",
      moodle.baseUrl,
      "--moodle-token-file",
      tokenFile,
      "--shutdown-timeout",
      "3000",
    ],
    { dataDir: join(dir, "state"), ready: /Route added \// },
  );
  const base = proxy.url;
  await moodle.setMode("down");

  const socket = new WebSocket(
    `${base.replace("http", "ws")}/api/kernels/${randomUUID()}/channels?session_id=${randomUUID()}`,
  );
  await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
  const closeCode = new Promise<number>((resolve) => socket.once("close", (code) => resolve(code)));
  const channel = new KernelChannel(socket, randomUUID());
  let replies = 0;
  let running = true;
  const traffic = (async () => {
    while (running) {
      try {
        await channel.execute(replies % 3 === 0 ? "raise" : "x", { timeoutMs: 5000 });
        replies++;
      } catch {
        return;
      }
    }
  })();
  await sleep(500);
  const slow = fetch(`${base}/slow?delay=800`).then((r) => r.text());
  await sleep(100);
  proxy.process.child.kill("SIGTERM");
  t.equal(await slow, "done /slow?delay=800", "the in-flight HTTP request finished during shutdown");
  t.equal(await closeCode, 1001, "the WebSocket was closed with 1001 going away");
  running = false;
  await traffic;
  t.equal(await proxy.process.exited(), 2, "exit code 2 after SIGTERM, like CHP");
  t.ok(replies > 10, `traffic was flowing (${replies} executions)`);

  const captured = readFileSync(recordsFile, "utf8").trim().split("\n").length;
  t.equal(moodle.processed.length, 0, "Moodle was down: nothing delivered yet");
  await moodle.setMode("up");
  await proxy.restart();
  await waitUntil(() => moodle.processed.length >= captured, "delivery after the restart", 30000);
  t.equal(
    moodle.processed.length,
    captured,
    `all ${captured} records captured before SIGTERM delivered after restart`,
  );
});
