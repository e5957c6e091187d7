import t from "tap";
import { openKernelThrough, startJupyterServer } from "../support/jupyter-server.js";
import type { KernelChannel } from "../support/hub-browser.js";
import { startLoopbackProxy } from "../support/loopback-proxy.js";
import { lticontainerLaunch, postLaunch } from "../support/lti-launch-post.js";
import { MoodleStandIn } from "../support/moodle-stand-in.js";
import { sleep, waitUntil } from "../support/wait.js";

/**
 * Zero loss through the real binary with a real Jupyter server and kernel: Moodle refusing connections, then
 * answering 503, a proxy SIGKILLed with records in its spool, and a slow Moodle that must not slow the relay.
 */
const MOODLE_TOKEN = "fedcba9876543210fedcba9876543210";
const API_TOKEN = "api-secret";

t.test("no record is lost", async (t) => {
  const moodle = await MoodleStandIn.start({ tokens: [MOODLE_TOKEN], lti: { 13: 7 } });
  const jupyter = await startJupyterServer();
  t.teardown(async () => {
    await jupyter.stop();
    await moodle.close();
  });
  // The data dir (and its spool) outlives the SIGKILLed process: the restart on the same ports delivers from it.
  const proxy = await startLoopbackProxy(t, ["--moodle-allow", moodle.origin], { token: API_TOKEN });
  const base = proxy.url;
  const addRoute = async () => {
    const added = await proxy.api("POST", "/", { target: jupyter.url, user: "carol" });
    t.equal(added.status, 201, "route to the Jupyter server");
  };
  await addRoute();

  const cookie = await postLaunch(`${base}/lti/launch`, lticontainerLaunch(moodle.origin, MOODLE_TOKEN));
  t.ok(cookie, "launch cookie set on the Jupyter server's answer");

  let cells = 0;
  const runCells = async (channel: KernelChannel, count: number) => {
    for (let i = 0; i < count; i++) {
      cells++;
      const code = cells % 4 === 0 ? "1/0" : `x = ${cells}`;
      // Failing cells carry JupyterLab's `raises-exception` tag, so the kernel does not abort the next cell.
      const tags = [
        "filename:z.ipynb",
        `codenum:${cells % 4}`,
        ...(cells % 4 === 0 ? ["raises-exception"] : []),
      ];
      const result = await channel.execute(code, { tags });
      t.equal(result.status, cells % 4 === 0 ? "error" : "ok", `cell ${cells} ran`);
    }
  };
  /** One ltictr record per socket, plus a client and a server record per cell. */
  const expected = (sockets: number) => sockets + 2 * cells;

  let channel = await openKernelThrough(base, jupyter.token, cookie);

  await moodle.setMode("down");
  await runCells(channel, 6);
  await moodle.setMode("503");
  await runCells(channel, 6);
  t.equal(moodle.processed.length, 0, "nothing reached Moodle while it was down or failing");
  await moodle.setMode("up");
  await waitUntil(() => moodle.processed.length >= expected(1), "delivery after the outage", 30000);
  t.equal(moodle.processed.length, expected(1), "every record arrived once after the outage");

  await moodle.setMode("down");
  await runCells(channel, 5);
  await channel.close();
  proxy.process.child.kill("SIGKILL");
  await proxy.process.exited();
  await proxy.restart();
  await addRoute();
  await moodle.setMode("up");
  await waitUntil(
    () => moodle.processed.length >= expected(1),
    "delivery of the spool after SIGKILL and restart",
    30000,
  );
  await sleep(300);
  t.equal(
    moodle.processed.length,
    expected(1),
    "records spooled before SIGKILL delivered after restart, once",
  );

  moodle.setDelay(200);
  channel = await openKernelThrough(base, jupyter.token, cookie);
  const before = moodle.processed.length;
  await runCells(channel, 10);
  const deliveredDuringRun = moodle.processed.length - before;
  t.ok(
    deliveredDuringRun < 21,
    `the kernel ran 10 cells while Moodle (200 ms a call) had taken only ${deliveredDuringRun} of 21 records`,
  );
  await waitUntil(() => moodle.processed.length >= expected(2), "slow delivery to finish", 60000);
  t.equal(moodle.processed.length, expected(2), "all records of the slow phase arrived");
  t.ok(
    moodle.serverData.every((row) => !String(row.status).endsWith("/nc")),
    "order kept: no result marked /nc",
  );
  await channel.close();
});
