import { readFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { PROXY_BIN } from "../support/proxy-process.js";
import { HubBrowser, type KernelChannel } from "../support/hub-browser.js";
import { startJupyterHub } from "../support/jupyterhub.js";
import { MoodleStandIn, countsPerCodenum, countsPerUser } from "../support/moodle-stand-in.js";
import { tempDir } from "../support/temp-dir.js";
import { sleep, waitUntil } from "../support/wait.js";

/**
 * The ltictr role end to end: JupyterHub 3.0, real single-user servers and IPython kernels behind the proxy, an
 * LTI launch posted through it, cells that succeed, raise, fail to parse and get aborted, a 5 MB output — and
 * what mod_lticontainer's charts would show, read from the Moodle stand-in's chart join.
 */
const MOODLE_TOKEN = "0123456789abcdef0123456789abcdef";
const INST_ID = 6;
const LTI_ID = 13;
const COURSE = 42;

function launchForm(moodle: MoodleStandIn): string {
  return new URLSearchParams({
    oauth_version: "1.0",
    oauth_nonce: "e2e-nonce",
    oauth_timestamp: String(Math.floor(Date.now() / 1000)),
    oauth_consumer_key: "moodle",
    oauth_signature_method: "HMAC-SHA1",
    oauth_signature: "not-checked-by-the-proxy",
    lti_message_type: "basic-lti-launch-request",
    custom_lms_sessioninfo: `${INST_ID},${LTI_ID}`,
    custom_lms_serverurl: moodle.origin,
    custom_lms_serverpath: "/moodle",
    custom_lms_rpctoken: MOODLE_TOKEN,
  }).toString();
}

/**
 * After a failing cell ipykernel aborts queued requests until a task it schedules has run; a request sent the
 * moment the error reply arrives can still be aborted. A pause lets that task run, so the next cell is not.
 */
const leaveAbortMode = () => sleep(1000);

interface Cell {
  codenum: string;
  code: string;
}

t.test("LTI launch → kernel traffic → Moodle charts", async (t) => {
  const moodle = await MoodleStandIn.start({
    tokens: [MOODLE_TOKEN],
    pathPrefix: "/moodle",
    lti: { [LTI_ID]: COURSE },
  });
  const dir = tempDir(t, "ltictr-e2e-");
  const recordsFile = join(dir, "records.jsonl");
  const hub = await startJupyterHub({
    mode: "external-proxy",
    proxyCommand: [
      process.execPath,
      PROXY_BIN,
      "--data-dir",
      join(dir, "state"),
      "--records-file",
      recordsFile,
      "--moodle-allow",
      moodle.origin,
    ],
    users: ["alice", "bob"],
    // jupyter_server's IOPub rate limit would drop the 5 MB output this test sends on purpose.
    extraConfig: "c.Spawner.args.append('--ServerApp.iopub_data_rate_limit=1e12')",
  });
  const browsers: HubBrowser[] = [];
  t.teardown(async () => {
    for (const browser of browsers) await browser.close();
    await hub.stop();
    await moodle.close();
    if (!t.passing()) console.error(hub.logs().slice(-20000));
  });

  async function student(name: string): Promise<{ browser: HubBrowser; channel: KernelChannel }> {
    const browser = new HubBrowser(hub.publicUrl);
    browsers.push(browser);
    await browser.login(name);
    const launch = await browser.fetch("/hub/lti/launch", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: launchForm(moodle),
    });
    const cookies = [launch.headers["set-cookie"] ?? []].flat();
    const launchCookie = cookies.find((c) => c.startsWith("ltictr_launch="));
    t.ok(launchCookie, `${name}: the launch response carries the sealed launch cookie`);
    t.match(launchCookie ?? "", /; HttpOnly; Secure; SameSite=None; Path=\//, `${name}: cookie attributes`);
    t.notMatch(
      JSON.stringify(launch.headers) + launch.body,
      MOODLE_TOKEN,
      `${name}: the Moodle token never reaches the browser`,
    );
    await browser.spawn(name);
    await browser.authorizeServer(name);
    const kernel = await browser.startKernel(name);
    return { browser, channel: await browser.openKernel(name, kernel.id) };
  }

  const run = (channel: KernelChannel, cell: Cell) =>
    channel.execute(cell.code, {
      tags: ["filename:e2e.ipynb", `codenum:${cell.codenum}`],
      cellId: `cell-${cell.codenum}`,
    });

  const alice = await student("alice");
  t.equal((await run(alice.channel, { codenum: "1", code: "1 + 1" })).status, "ok", "alice 1: ok");
  t.equal((await run(alice.channel, { codenum: "2", code: "1 / 0" })).status, "error", "alice 2: raises");
  await leaveAbortMode();
  t.equal(
    (await run(alice.channel, { codenum: "3", code: "def (:" })).status,
    "error",
    "alice 3: syntax error",
  );
  await leaveAbortMode();
  // Sent back to back: the second is queued when the first fails, so the kernel aborts it.
  const [failing, aborted] = await Promise.all([
    run(alice.channel, { codenum: "4", code: "import time; time.sleep(0.5); raise ValueError('no')" }),
    run(alice.channel, { codenum: "5", code: "print('never runs')" }),
  ]);
  t.equal(failing.status, "error", "alice 4: raises");
  t.equal(aborted.status, "aborted", "alice 5: aborted after the error");
  await leaveAbortMode();
  const big = await run(alice.channel, { codenum: "6", code: "print('x' * 5_000_000, end='')" });
  const text = big.outputs
    .filter((o) => o.type === "stream")
    .map((o) => String(o.content.text))
    .join("");
  t.equal(big.status, "ok", "alice 6: ok");
  t.ok(text.length === 5_000_000 && /^x+$/.test(text), `a 5 MB output arrives intact (${text.length} bytes)`);

  const bob = await student("bob");
  t.equal((await run(bob.channel, { codenum: "1", code: "print('hi')" })).status, "ok", "bob 1: ok");
  t.equal(
    (await run(bob.channel, { codenum: "2", code: "undefined_name" })).status,
    "error",
    "bob 2: NameError",
  );

  // 2 ltictr + 8 client + 8 server records.
  await waitUntil(() => moodle.processed.length >= 18, "18 records at the Moodle stand-in");
  await sleep(500);

  const records = readFileSync(recordsFile, "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as { log: Record<string, string>; stream: string });
  const byHost = (host: string) => records.filter((r) => r.log.host === host).map((r) => r.log);
  t.equal(byHost("ltictr").length, 2, "one ltictr record per kernel socket");
  t.same(
    byHost("ltictr").map((r) => [r.inst_id, r.lti_id, r.session]),
    [
      [String(INST_ID), String(LTI_ID), alice.channel.sessionId],
      [String(INST_ID), String(LTI_ID), bob.channel.sessionId],
    ],
    "ltictr records link the socket's session_id to the launch's inst_id/lti_id",
  );
  t.same(
    byHost("client").map((r) => [r.cell_id, r.tags]),
    ["1", "2", "3", "4", "5", "6", "1", "2"].map((n) => [
      `cell-${n}`,
      `["filename:e2e.ipynb","codenum:${n}"]`,
    ]),
    "a client record per cell run, tags as the browser sent them",
  );
  t.same(
    byHost("server").map((r) => [r.username, r.status]),
    [
      ["alice", "ok"],
      ["alice", "error"],
      ["alice", "error"],
      ["alice", "error"],
      ["alice", "aborted"],
      ["alice", "ok"],
      ["bob", "ok"],
      ["bob", "error"],
    ],
    "a server record per execute_reply with the kernel's user and status",
  );
  const clientMessages = byHost("client").map((r) => r.message);
  t.same(
    byHost("server").map((r) => r.message),
    clientMessages,
    "each reply joins its request on message",
  );

  t.equal(moodle.processed.length, 18, "every record was delivered once");
  t.ok(
    moodle.serverData.every((row) => !String(row.status).endsWith("/nc")),
    "no result marked /nc",
  );
  const rows = moodle.chartRows({
    course: COURSE,
    instId: INST_ID,
    start: 0,
    end: Math.floor(Date.now() / 1000) + 60,
  });
  t.same(
    Object.fromEntries(countsPerUser(rows)),
    { alice: { ok: 2, error: 4 }, bob: { ok: 1, error: 1 } },
    "the per-user chart: ok/error counts",
  );
  t.same(
    Object.fromEntries(countsPerCodenum(rows)),
    {
      "1": { ok: 2, error: 0 },
      "2": { ok: 0, error: 2 },
      "3": { ok: 0, error: 1 },
      "4": { ok: 0, error: 1 },
      "5": { ok: 0, error: 1 },
      "6": { ok: 1, error: 0 },
    },
    "the per-codenum chart: ok/error counts",
  );
});
