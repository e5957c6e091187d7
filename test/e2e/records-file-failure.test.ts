import { execFileSync } from "node:child_process";
import { createReadStream, writeFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import t from "tap";
import WebSocket from "ws";
import { startFakeKernelServer } from "../support/fake-kernel.js";
import { KernelChannel } from "../support/hub-browser.js";
import { startLoopbackProxy } from "../support/loopback-proxy.js";
import { MoodleStandIn } from "../support/moodle-stand-in.js";
import { tempDir } from "../support/temp-dir.js";
import { waitUntil } from "../support/wait.js";

/**
 * `--records-file` is a second stage beside durable delivery: when it starts failing mid-session (here a pipe
 * whose reader goes away, so every write fails with EPIPE), the records still reach the spool and Moodle, the
 * failure is logged once, and the proxy keeps serving.
 */
const MOODLE_TOKEN = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6";

t.test("a records file that starts failing costs no delivered record", async (t) => {
  const moodle = await MoodleStandIn.start({ tokens: [MOODLE_TOKEN], lti: { 13: 7 } });
  const kernel = await startFakeKernelServer();
  t.teardown(async () => {
    await kernel.close();
    await moodle.close();
  });
  const dir = tempDir(t, "ltictr-records-fifo-");
  const fifo = join(dir, "records.jsonl");
  execFileSync("mkfifo", [fifo]);
  const tokenFile = join(dir, "moodle-token");
  writeFileSync(tokenFile, MOODLE_TOKEN);

  // The reader opens first: the proxy's open of the pipe for writing completes once a reader is there.
  const reader = createReadStream(fifo, { encoding: "utf8" });
  let received = "";
  reader.on("data", (chunk) => (received += chunk));
  const proxy = await startLoopbackProxy(
    t,
    [
      "--default-target",
      kernel.url,
      "--records-file",
      fifo,
      "--moodle-url",
      moodle.baseUrl,
      "--moodle-token-file",
      tokenFile,
    ],
    { ready: /Route added \// },
  );

  const socket = new WebSocket(
    `${proxy.url.replace("http", "ws")}/api/kernels/${randomUUID()}/channels?session_id=${randomUUID()}`,
  );
  await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
  t.teardown(() => socket.terminate());
  const channel = new KernelChannel(socket, randomUUID());
  const run = async (cells: number) => {
    for (let i = 0; i < cells; i++) await channel.execute(i % 3 === 0 ? "raise" : "x", { timeoutMs: 5000 });
  };

  await run(5);
  await waitUntil(() => received.split("\n").filter(Boolean).length === 10, "the first records in the file");
  reader.destroy();
  await run(10);
  await waitUntil(() => moodle.processed.length >= 30, "every record at Moodle", 20_000);
  t.equal(moodle.processed.length, 30, "15 cells: 30 records delivered, none lost to the failing file");
  t.equal(received.split("\n").filter(Boolean).length, 10, "the file had what it took before failing");
  const failures = proxy.process.stdout().match(/the records file could not take a record/g) ?? [];
  t.equal(failures.length, 1, "the failure is logged once, not per record");
  const health = await fetch(`${proxy.url}/_chp_healthz`);
  t.equal(health.status, 200, "the proxy keeps serving");
});
