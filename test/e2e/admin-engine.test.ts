import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { openAdminBrowser, screenshotDir } from "../support/admin-browser.js";
import { busyboxImage } from "../support/container-images.js";
import { startLoopbackProxy } from "../support/loopback-proxy.js";
import { startPodmanService } from "../support/podman.js";
import { freePort } from "../support/ports.js";
import { tempDir } from "../support/temp-dir.js";
import { webRequest } from "../support/web-client.js";

/**
 * The Images & volumes page against a real Podman service: images after the spawner policy's name filter (and
 * another filter typed on the page), course volumes by course and role, created and removed from the page — the
 * replacement for the docker command lines mod_lticontainer runs over SSH.
 */
const TOKEN = "admin-engine-token-19ad";

const image = await busyboxImage();
const podman = await startPodmanService(t, { imageStores: [image.store] });
const dir = tempDir(t, "ltictr-admin-engine-");
for (const name of ["localhost/jupyterhub-singleuser:3.0", "localhost/postgres:16"]) {
  const rootfs = join(dir, name.replace(/[/:]/g, "_"));
  mkdirSync(rootfs);
  writeFileSync(join(rootfs, "name"), name);
  execFileSync("tar", ["-C", rootfs, "-cf", `${rootfs}.tar`, "."]);
  await podman.podman(["import", `${rootfs}.tar`, name]);
}
await podman.podman(["volume", "create", "lms_vol_rsa_219_el.example.org"]);
await podman.podman(["volume", "create", "postgres-data"]);
const policy = join(dir, "policy.json");
writeFileSync(policy, JSON.stringify({ imageFilter: "jupyterhub" }));

const adminPort = await freePort();
const proxy = await startLoopbackProxy(
  t,
  ["--engine-socket", podman.socketPath, "--spawner-policy", policy, "--admin-port", String(adminPort)],
  { token: TOKEN, ready: /Admin page at / },
);
const adminUrl = `http://127.0.0.1:${adminPort}/admin/`;
const shots = screenshotDir(t);
const browser = await openAdminBrowser(t);
const { page } = browser;

const volumeNames = async () =>
  (await podman.podman(["volume", "ls", "--format", "{{.Name}}"])).split("\n").filter(Boolean).sort();
const cellTexts = (selector: string) => page.locator(`${selector} tbody tr td:nth-child(1)`).allInnerTexts();

t.test("images after the policy's filter, then after the page's", async (t) => {
  await page.goto(adminUrl);
  await page.getByLabel("API token").fill(TOKEN);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("link", { name: "Images & volumes" }).click();
  await page.locator("#images-table tbody tr").first().waitFor();
  t.same(
    await cellTexts("#images-table"),
    ["localhost/jupyterhub-singleuser:3.0"],
    "the policy's 'jupyterhub'",
  );
  t.equal(await page.getByLabel("Filter images").inputValue(), "jupyterhub");

  await page.getByLabel("Filter images").fill("localhost -jupyterhub");
  await page.keyboard.press("Enter");
  await page.getByRole("cell", { name: "localhost/postgres:16" }).waitFor();
  t.same(await cellTexts("#images-table"), [image.name, "localhost/postgres:16"]);
});

t.test("course volumes by course and role; created and removed from the page", async (t) => {
  const course219 = page.locator("#volumes-list > div").filter({ hasText: "Course 219 on el.example.org" });
  await course219.waitFor();
  t.notMatch(await page.locator("#volumes-list").innerText(), /postgres-data/, "other volumes are not shown");

  await page.getByLabel("Course ID").fill("219");
  await page.getByLabel("Moodle host").fill("el.example.org");
  await page.getByLabel("Role").selectOption("submit");
  await page.getByLabel("Name", { exact: true }).fill("report1");
  await page.getByRole("button", { name: "Create volume" }).click();
  await page.getByText("Volume lms_sub_report1_219_el.example.org created.").waitFor();
  await course219.getByText("lms_sub_report1_219_el.example.org").waitFor();
  t.same(await course219.locator("tbody tr td:nth-child(1)").allInnerTexts(), ["task", "submit"], "by role");
  t.ok((await volumeNames()).includes("lms_sub_report1_219_el.example.org"), "the engine has it");

  await page.getByLabel("Course ID").fill("7");
  await page.getByLabel("Role").selectOption("task");
  await page.getByLabel("Name", { exact: true }).fill("");
  await page.getByRole("button", { name: "Create volume" }).click();
  await page.getByText("Course 7 on el.example.org").waitFor();
  await browser.screenshot(shots, "images-volumes");

  page.once("dialog", (dialog) => void dialog.accept());
  await page.getByRole("button", { name: "Remove volume lms_vol_rsa_219_el.example.org" }).click();
  await page.getByText("Volume lms_vol_rsa_219_el.example.org removed.").waitFor();
  t.same(await volumeNames(), [
    "lms_sub_report1_219_el.example.org",
    "lms_vol__7_el.example.org",
    "postgres-data",
  ]);
});

t.test("a bad name is refused and the engine is not touched", async (t) => {
  const before = await volumeNames();
  const create = (body: unknown) =>
    webRequest(`http://127.0.0.1:${adminPort}/admin/api/volumes/create`, {
      method: "POST",
      headers: { authorization: `token ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const traversal = await create({ course: "219", host: "../../etc", role: "task", name: "x" });
  t.equal(traversal.status, 400);
  t.match(JSON.parse(traversal.body), { code: "invalid_name" });
  t.equal((await create({ course: "2_19", host: "h", role: "task", name: "x" })).status, 400);
  t.equal((await create({ course: "219", host: "h", role: "admin", name: "x" })).status, 400);
  const remove = await webRequest(`http://127.0.0.1:${adminPort}/admin/api/volumes/remove`, {
    method: "POST",
    headers: { authorization: `token ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "postgres-data" }),
  });
  t.equal(remove.status, 400, "only course volumes can be removed");
  t.same(await volumeNames(), before);

  await page.getByLabel("Course ID").fill("2_19");
  await page.getByRole("button", { name: "Create volume" }).click();
  t.equal(await page.locator("#volume-course:invalid").count(), 1, "the form refuses it first");
  t.same(browser.outsideRequests, []);
  t.same(browser.pageErrors, []);
  t.ok(
    proxy.process.stdout().includes("admin page: created course volume lms_sub_report1_219_el.example.org"),
  );
});
