import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import t from "tap";
import WebSocket from "ws";
import { KernelChannel } from "../support/hub-browser.js";
import { startFakeKernelServer } from "../support/fake-kernel.js";
import { MoodleStandIn } from "../support/moodle-stand-in.js";
import { freePort } from "../support/ports.js";
import { startProxy, type RunningProcess } from "../support/proxy-process.js";

/**
 * SIGTERM during traffic: in-flight HTTP finishes, WebSockets are closed with 1001, the process exits 2, and
 * every record captured before the stop is delivered (after a restart, since Moodle is down meanwhile).
 */
const MOODLE_TOKEN = "00112233445566778899aabbccddeeff";

t.test("graceful shutdown loses nothing", async (t) => {
  const moodle = await MoodleStandIn.start({ tokens: [MOODLE_TOKEN], lti: { 13: 7 } });
  const kernel = await startFakeKernelServer();
  const dir = mkdtempSync(join(tmpdir(), "ltictr-shutdown-"));
  const tokenFile = join(dir, "moodle-token");
  writeFileSync(tokenFile, MOODLE_TOKEN);
  const recordsFile = join(dir, "records.jsonl");
  const port = await freePort();
  const apiPort = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let proxy: RunningProcess | undefined;
  t.teardown(async () => {
    await proxy?.stop();
    await kernel.close();
    await moodle.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const start = async () => {
    proxy = startProxy([
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--api-port",
      String(apiPort),
      "--default-target",
      kernel.url,
      "--data-dir",
      join(dir, "state"),
      "--records-file",
      recordsFile,
      "--moodle-url",
      moodle.baseUrl,
      "--moodle-token-file",
      tokenFile,
      "--shutdown-timeout",
      "3000",
    ]);
    await proxy.waitFor(/Route added \//);
  };
  await start();
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
  proxy?.child.kill("SIGTERM");
  t.equal(await slow, "done /slow?delay=800", "the in-flight HTTP request finished during shutdown");
  t.equal(await closeCode, 1001, "the WebSocket was closed with 1001 going away");
  running = false;
  await traffic;
  t.equal(await proxy?.exited(), 2, "exit code 2 after SIGTERM, like CHP");
  t.ok(replies > 10, `traffic was flowing (${replies} executions)`);

  const captured = readFileSync(recordsFile, "utf8").trim().split("\n").length;
  t.equal(moodle.processed.length, 0, "Moodle was down: nothing delivered yet");
  await moodle.setMode("up");
  await start();
  const deadline = Date.now() + 30000;
  while (moodle.processed.length < captured && Date.now() < deadline) await sleep(100);
  t.equal(
    moodle.processed.length,
    captured,
    `all ${captured} records captured before SIGTERM delivered after restart`,
  );
});
