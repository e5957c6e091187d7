import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import WebSocket from "ws";
import { openAdminBrowser, screenshotDir } from "../support/admin-browser.js";
import { startFakeKernelServer } from "../support/fake-kernel.js";
import { KernelChannel } from "../support/hub-browser.js";
import { openKernelThrough, startJupyterServer } from "../support/jupyter-server.js";
import { startLoopbackProxy } from "../support/loopback-proxy.js";
import { countsPerCodenum, countsPerUser, MoodleStandIn } from "../support/moodle-stand-in.js";
import { freePort } from "../support/ports.js";
import { tempDir } from "../support/temp-dir.js";
import { sleep, waitUntil } from "../support/wait.js";
import { webRequest } from "../support/web-client.js";

/**
 * Cells run through kernel sockets behind the binary — the project's fake kernel for alice and a real IPython
 * kernel for bob, both after an LTI launch — appear live on the Sessions and Results pages with their ok / error
 * counts; Results show what mod_lticontainer's charts show for the same records. Moodle refuses the token at
 * first: the records become dead letters on the Delivery page, and once the token is accepted the Replay button
 * delivers them, without a restart.
 */
const TOKEN = "admin-kernels-token-77c1d3";
const MOODLE_TOKEN = "0123456789abcdef0123456789abcdef";
const INST_ID = 6;
const LTI_ID = 13;
const COURSE = 42;

const moodle = await MoodleStandIn.start({ tokens: [], lti: { [LTI_ID]: COURSE } });
const kernel = await startFakeKernelServer({ username: "alice" });
const jupyter = await startJupyterServer(["--ServerApp.base_url=/user/bob/"]);
t.teardown(async () => {
  await jupyter.stop();
  await kernel.close();
  await moodle.close();
});
const dir = tempDir(t, "ltictr-admin-kernels-");
const tokenFile = join(dir, "moodle-token");
writeFileSync(tokenFile, MOODLE_TOKEN);
const adminPort = await freePort();
const proxy = await startLoopbackProxy(
  t,
  [
    "--default-target",
    kernel.url,
    "--moodle-url",
    moodle.baseUrl,
    "--moodle-token-file",
    tokenFile,
    "--admin-port",
    String(adminPort),
  ],
  { token: TOKEN, dataDir: join(dir, "state"), ready: [/Admin page at http:\/\//, /Route added \//] },
);
await proxy.addRoute("/user/alice", kernel.url, { user: "alice", server_name: "" });
await proxy.addRoute("/user/bob", jupyter.url, { user: "bob", server_name: "" });
const adminUrl = `http://127.0.0.1:${adminPort}/admin/`;
const shots = screenshotDir(t);
const browser = await openAdminBrowser(t);
const { page } = browser;

/** An LTI 1.1 launch from mod_lticontainer posted through the proxy; resolves with the sealed launch cookie. */
async function launch(): Promise<string> {
  const answer = await webRequest(`${proxy.url}/hub/lti/launch`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      oauth_consumer_key: "moodle",
      oauth_signature: "not-checked-by-the-proxy",
      lti_message_type: "basic-lti-launch-request",
      custom_lms_sessioninfo: `${INST_ID},${LTI_ID}`,
      custom_lms_serverurl: moodle.origin,
      custom_lms_serverpath: "",
      custom_lms_rpctoken: MOODLE_TOKEN,
    }).toString(),
  });
  const cookie = [answer.headers["set-cookie"] ?? []].flat().find((c) => c.startsWith("ltictr_launch="));
  if (!cookie) throw new Error(`no launch cookie: ${answer.status}`);
  return cookie.split(";")[0] ?? "";
}

async function signIn(): Promise<void> {
  await page.goto(adminUrl);
  await page.getByLabel("API token").fill(TOKEN);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator("#live.on").waitFor();
}

/** The numbers of the table row whose first cell is `name`. */
async function rowCounts(table: string, name: string): Promise<string[]> {
  const row = page.locator(`${table} tbody tr`).filter({
    has: page.locator("td:first-child").getByText(name, { exact: true }),
  });
  await row.waitFor();
  return (await row.locator("td").allInnerTexts()).slice(1);
}

const cookie = await launch();
let alice: KernelChannel;
let bob: KernelChannel;

t.test("a kernel socket opened while the Sessions page is shown appears on it", async (t) => {
  await signIn();
  await page.getByRole("link", { name: "Sessions" }).click();
  await page.getByText("No kernel socket is open.").waitFor();

  const kernelId = randomUUID();
  // As JupyterLab does: the URL's session_id is the session of every message.
  const sessionId = randomUUID();
  const socket = new WebSocket(
    `${proxy.url.replace("http", "ws")}/user/alice/api/kernels/${kernelId}/channels?session_id=${sessionId}`,
    { headers: { cookie } },
  );
  await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
  alice = new KernelChannel(socket, sessionId);
  const row = page.locator("#sessions-table tbody tr").filter({ hasText: kernelId });
  await row.waitFor({ timeout: 2000 });
  const cells = await row.locator("td").allInnerTexts();
  t.equal(cells[0], "alice", "the route's user");
  t.equal(cells[2], "legacy", "the wire format");
  t.equal(cells[8], `${INST_ID} / ${LTI_ID}`, "the launch context");
});

t.test("cells run through the fake kernel count live on Sessions and Results", async (t) => {
  const run = (codenum: number, code: string) =>
    alice.execute(code, { tags: ["filename:ex1.ipynb", `codenum:${codenum}`], cellId: `ex1-${codenum}` });
  t.equal((await run(1, "x = 1")).status, "ok");
  t.equal((await run(2, "y = 2")).status, "ok");
  t.equal((await run(3, "raise")).status, "error");
  t.equal((await run(1, "x = 1")).status, "ok");
  const row = page.locator("#sessions-table tbody tr").filter({ hasText: "alice" });
  await waitUntil(
    async () => (await row.locator("td").allInnerTexts()).slice(4, 8).join(" ") === "4 3 1 0",
    "executions 4, ok 3, error 1, aborted 0 on the Sessions page",
    5000,
  );
  t.pass("Sessions: 4 executions, 3 ok, 1 error, 0 aborted");
  await browser.screenshot(shots, "sessions");

  await page.getByRole("link", { name: "Results" }).click();
  t.same(await rowCounts("#results-users", "alice"), ["3", "1"], "alice: 3 ok, 1 error");
  t.same(await rowCounts("#results-cells", "1"), ["2", "0"], "codenum 1: 2 ok");
  t.same(await rowCounts("#results-cells", "3"), ["0", "1"], "codenum 3: 1 error");

  // Live: the page is not reloaded, the next result arrives with the next second's tick.
  t.equal((await run(2, "raise")).status, "error");
  await waitUntil(
    async () => (await rowCounts("#results-cells", "2")).join(" ") === "1 1",
    "codenum 2: 1 ok, 1 error, live",
    5000,
  );
  t.pass("a new result shows without a reload");
});

t.test("cells run through a real IPython kernel count too", async (t) => {
  await page.getByRole("link", { name: "Sessions" }).click();
  bob = await openKernelThrough(`${proxy.url}/user/bob`, jupyter.token, cookie);
  const run = (codenum: number, code: string) =>
    bob.execute(code, { tags: ["filename:real.ipynb", `codenum:${codenum}`], cellId: `real-${codenum}` });
  t.equal((await run(1, "1 + 1")).status, "ok");
  t.equal((await run(2, "1 / 0")).status, "error");
  const row = page.locator("#sessions-table tbody tr").filter({ hasText: "bob" });
  await waitUntil(
    async () => (await row.locator("td").allInnerTexts()).slice(4, 8).join(" ") === "2 1 1 0",
    "bob: executions 2, ok 1, error 1",
    5000,
  );
  t.pass("Sessions: bob's real kernel, 2 executions, 1 ok, 1 error");

  await page.getByRole("link", { name: "Results" }).click();
  await page.getByLabel("Notebook").selectOption("real.ipynb");
  await waitUntil(
    async () =>
      (await rowCounts("#results-cells", "1")).join(" ") === "1 0" &&
      (await rowCounts("#results-cells", "2")).join(" ") === "0 1",
    "real.ipynb: codenum 1 ok, codenum 2 error",
    5000,
  );
  t.pass("Results for real.ipynb: codenum 1 ok, codenum 2 error");
  await page.getByLabel("Notebook").selectOption("*");
  t.match(await page.getByLabel("LTI instance").locator("option").allInnerTexts(), [
    "All instances",
    `instance ${INST_ID}, LTI ${LTI_ID}`,
  ]);
  await page.locator("#results-cells-chart .uplot").waitFor();
  await browser.screenshot(shots, "results");
});

t.test("Moodle refuses the token: dead letters; after the fix, Replay delivers them", async (t) => {
  await page.getByRole("link", { name: "Delivery" }).click();
  // 2 ltictr + 5 + 2 client + 5 + 2 server records, all refused (invalidtoken).
  await page.getByRole("heading", { name: "Dead letters (16)" }).waitFor({ timeout: 20000 });
  const dead = page.locator("#delivery-dead tbody tr");
  t.equal(await dead.count(), 16, "every dead letter listed");
  t.match(await dead.first().innerText(), /invalidtoken/, "with Moodle's reason");
  t.equal(moodle.processed.length, 0, "Moodle stored nothing");
  await browser.screenshot(shots, "delivery-dead-letters");

  moodle.addToken(MOODLE_TOKEN);
  await page.getByRole("button", { name: "Replay dead letters" }).click();
  await page.getByText("Replayed 16 records into the delivery queue.").waitFor();
  await waitUntil(() => moodle.processed.length === 16, "16 records at Moodle after the replay");
  await page.getByRole("heading", { name: "Dead letters (0)" }).waitFor();
  t.ok(
    await page.getByRole("button", { name: "Replay dead letters" }).isDisabled(),
    "nothing left to replay",
  );
  await waitUntil(
    async () => (await rowCounts("#delivery-origins", moodle.origin))[2] === "16",
    "the page follows the deliveries: 16 delivered to the origin",
    5000,
  );
  t.equal((await rowCounts("#delivery-origins", moodle.origin))[0], "ok", "the origin is fine again");
  t.match(await page.locator("#delivery-cards").innerText(), /Queue depth\s+0\b/, "the queue is empty");
  await browser.screenshot(shots, "delivery");

  const rows = moodle.chartRows({ course: COURSE, instId: INST_ID, start: 0, end: Date.now() / 1000 + 60 });
  t.same(
    [...countsPerUser(rows).keys()].sort(),
    ["alice", "username"],
    "ipykernel names its user 'username'",
  );
  await page.getByRole("link", { name: "Results" }).click();
  for (const [user, counts] of countsPerUser(rows))
    t.same(
      await rowCounts("#results-users", user),
      [String(counts.ok), String(counts.error)],
      `user ${user}`,
    );
  for (const [codenum, counts] of countsPerCodenum(rows))
    t.same(
      await rowCounts("#results-cells", codenum),
      [String(counts.ok), String(counts.error)],
      `codenum ${codenum}: as mod_lticontainer's chart`,
    );
});

t.test("the overview sums it up", async (t) => {
  await page.getByRole("link", { name: "Overview" }).click();
  const cards = page.locator("#overview-cards");
  await waitUntil(
    async () => /Delivered\s+16\b/.test(await cards.innerText()),
    "16 delivered on the overview",
    5000,
  );
  t.match(await cards.innerText(), /Records captured\s+16\b/);
  t.match(await cards.innerText(), /Dead letters\s+0\b/);
  // The cards follow the live stream's totals every second; the per-origin table is read again half a second after
  // delivery events, so it may show the last delivery a moment later.
  const origins = page.locator("#overview-moodle");
  const delivered = new RegExp(`${moodle.origin}\\s+ok\\s+16\\b`);
  await waitUntil(async () => delivered.test(await origins.innerText()), "16 delivered to the origin", 5000);
  t.match(await origins.innerText(), delivered);
  await browser.screenshot(shots, "overview-live");
});

t.test("no secret reached the page, nothing left the loopback", async (t) => {
  await alice.close();
  await bob.close();
  await page.getByRole("link", { name: "Sessions" }).click();
  await page.getByText("No kernel socket is open.").waitFor();
  await sleep(200);
  const seen = (await browser.responseBodies()).join("\n") + (await page.content());
  t.notOk(seen.includes(MOODLE_TOKEN), "no Moodle token");
  t.notOk(seen.includes(TOKEN), "no API token");
  t.notOk(seen.includes(cookie.split("=")[1] ?? "-"), "no launch cookie value");
  t.same(browser.outsideRequests, []);
  t.same(browser.pageErrors, []);
});
