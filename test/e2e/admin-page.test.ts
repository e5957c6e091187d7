import { readFileSync } from "node:fs";
import { join } from "node:path";
import { request } from "node:https";
import t from "tap";
import { openAdminBrowser, screenshotDir } from "../support/admin-browser.js";
import { startFakeKernelServer } from "../support/fake-kernel.js";
import { startLoopbackProxy } from "../support/loopback-proxy.js";
import { freePort } from "../support/ports.js";
import { tempDir } from "../support/temp-dir.js";
import { waitUntil } from "../support/wait.js";
import { webRequest } from "../support/web-client.js";

/**
 * The admin page in Debian's Chromium, through the binary with a self-signed certificate: sign-in (wrong, then
 * right token), the session cookie's attributes, routes added and removed through the REST API showing up live,
 * a route deleted from the page, keyboard use, sign-out, and requests without the cookie or with a wrong CSRF
 * token that change nothing. Nothing leaves the loopback, no secret reaches the page.
 */
const TOKEN = "admin-page-token-4f1c9a0e7b2d";

const kernel = await startFakeKernelServer();
t.teardown(() => kernel.close());
const dataDir = tempDir(t, "ltictr-admin-");
const adminPort = await freePort();
const proxy = await startLoopbackProxy(
  t,
  ["--default-target", kernel.url, "--ssl-self-signed", "--admin-port", String(adminPort)],
  { token: TOKEN, dataDir, ready: [/Admin page at https:\/\/127\.0\.0\.1:\d+\/admin\//, /Route added \//] },
);
const origin = `https://127.0.0.1:${adminPort}`;
const ca = readFileSync(join(dataDir, "tls", "ca.pem"), "utf8");
const admin = (path: string, options: Parameters<typeof webRequest>[1] = {}) =>
  webRequest(`${origin}${path}`, { ca, ...options });
const shots = screenshotDir(t);

const browser = await openAdminBrowser(t, { acceptSelfSigned: true });
const { page } = browser;

t.test("the start-up line names the admin page", async (t) => {
  t.match(proxy.process.stdout(), new RegExp(`Admin page at ${origin}/admin/`));
});

t.test("sign in: a wrong token is refused, the right one opens the page", async (t) => {
  await page.goto(`${origin}/admin/`);
  await page.getByLabel("API token").fill("not-the-token");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByText("Wrong token.").waitFor();
  t.ok(await page.locator("#app").isHidden(), "the page stays closed");
  t.same(
    (await browser.context.cookies()).filter((c) => c.name === "ltictr_admin"),
    [],
    "no cookie for a wrong token",
  );

  await page.getByLabel("API token").fill(TOKEN);
  await page.keyboard.press("Enter");
  await page.locator("#app").waitFor();
  await page.locator("#live.on").waitFor();
  t.equal(await page.getByLabel("API token").inputValue(), "", "the token is not kept in the form");

  const cookie = (await browser.context.cookies()).find((c) => c.name === "ltictr_admin");
  t.ok(cookie, "a session cookie");
  t.match(cookie, { httpOnly: true, secure: true, sameSite: "Strict", path: "/admin" });
  const hoursLeft = ((cookie?.expires ?? 0) * 1000 - Date.now()) / 3_600_000;
  t.ok(hoursLeft > 7 && hoursLeft <= 8, `the cookie expires with the session (${hoursLeft.toFixed(2)} h)`);
  t.notOk(await page.evaluate("document.cookie.includes('ltictr_admin')"), "scripts cannot read it");

  await page.locator("#overview-cards .card").first().waitFor();
  const overview = await page.locator("#overview-cards").innerText();
  t.match(overview, /Version\s+0\.1\.0/);
  t.match(overview, /Certificate\s+\d+ days left/);
  t.match(overview, /Routes\s+1\b/);
  await page.locator("#overview-chart .uplot").waitFor();
  await browser.screenshot(shots, "overview");
});

t.test("routes added and removed through the REST API appear and go within a second", async (t) => {
  await page.getByRole("link", { name: "Routes" }).click();
  await page.getByRole("cell", { name: "/", exact: true }).waitFor();

  await proxy.addRoute("/user/alice", "http://127.0.0.1:9/alice", { user: "alice", server_name: "" });
  const addedAt = Date.now();
  const row = page
    .getByRole("row")
    .filter({ has: page.getByRole("cell", { name: "/user/alice", exact: true }) });
  await row.waitFor({ timeout: 1000 });
  t.ok(Date.now() - addedAt < 1000, `shown ${Date.now() - addedAt} ms after the API answered`);
  t.match(await row.innerText(), /http:\/\/127\.0\.0\.1:9\/alice\s+alice/);

  t.equal((await proxy.api("DELETE", "/user/alice")).status, 204);
  const removedAt = Date.now();
  await row.waitFor({ state: "detached", timeout: 1000 });
  t.ok(Date.now() - removedAt < 1000, `gone ${Date.now() - removedAt} ms after the API answered`);
  t.equal(await page.evaluate("location.pathname"), "/admin/", "no reload happened");
});

t.test("the filter narrows the table; a route is deleted from the page", async (t) => {
  for (const user of ["carol", "dave", "erin"])
    await proxy.addRoute(`/user/${user}`, `http://127.0.0.1:9/${user}`, { user });
  await page.getByRole("cell", { name: "/user/erin", exact: true }).waitFor();
  await page.getByLabel("Filter routes").fill("dav");
  await page.getByRole("cell", { name: "/user/carol", exact: true }).waitFor({ state: "detached" });
  t.equal(await page.locator("#routes-table tbody tr").count(), 1, "one route matches 'dav'");
  t.match(await page.locator("#routes-count").innerText(), /^1 of 4 routes/);
  await browser.screenshot(shots, "routes");

  page.once("dialog", (dialog) => void dialog.accept());
  await page.getByRole("button", { name: "Delete route /user/dave" }).click();
  await page.getByRole("cell", { name: "/user/dave", exact: true }).waitFor({ state: "detached" });
  t.equal(await proxy.route("/user/dave"), undefined, "the REST API no longer has it");
  t.match(proxy.process.stdout(), /Removing route \/user\/dave/, "logged like a REST API removal");
  await page.getByLabel("Filter routes").fill("");
});

t.test("keyboard: the pages are links, reached and opened with the keyboard", async (t) => {
  await page.getByRole("link", { name: "Overview" }).focus();
  await page.keyboard.press("Tab");
  t.equal(await page.evaluate("document.activeElement?.textContent"), "Routes", "Tab moves along the pages");
  await page.keyboard.press("Tab");
  await page.keyboard.press("Enter");
  await page.locator("#view-sessions").waitFor();
  t.equal(
    await page.evaluate("document.activeElement?.id"),
    "h-sessions",
    "the new page's heading takes the focus",
  );
  t.equal(await page.getByRole("link", { name: "Sessions" }).getAttribute("aria-current"), "page");
});

t.test("readable at 390 px and in the dark scheme", async (t) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.emulateMedia({ colorScheme: "dark" });
  await page.getByRole("link", { name: "Overview" }).click();
  await page.locator("#overview-chart .uplot").waitFor();
  const overflow = await page.evaluate<number>("document.documentElement.scrollWidth");
  t.ok(overflow <= 390, `nothing wider than the screen (${overflow} px)`);
  const background = await page.evaluate<string>("getComputedStyle(document.body).backgroundColor");
  const [r = 255, g = 255, b = 255] = (background.match(/\d+/g) ?? []).map(Number);
  t.ok(r + g + b < 150, `a dark background in the dark scheme (${background})`);
  await browser.screenshot(shots, "overview-390-dark");
  await page.getByRole("link", { name: "Routes" }).click();
  // Narrow screens stack each row, every value beside its column's name.
  await page.locator("#routes-table td").getByText("/user/carol", { exact: true }).waitFor();
  t.ok(
    (await page.evaluate<number>("document.documentElement.scrollWidth")) <= 390,
    "the routes page fits too",
  );
  await browser.screenshot(shots, "routes-390-dark");
  await page.setViewportSize({ width: 1280, height: 860 });
  await page.emulateMedia({ colorScheme: "light" });
});

/** Signs in as a script would with a form: the session cookie and its CSRF token. */
async function apiSession(): Promise<{ cookie: string; csrf: string }> {
  const login = await admin("/admin/api/login", {
    method: "POST",
    headers: { "content-type": "application/json", origin },
    body: JSON.stringify({ token: TOKEN }),
  });
  if (login.status !== 200) throw new Error(`login answered ${login.status}`);
  const cookie = String(login.headers["set-cookie"]).split(";")[0] ?? "";
  return { cookie, csrf: (JSON.parse(login.body) as { csrfToken: string }).csrfToken };
}

t.test("a request without the session cookie or with a wrong CSRF token changes nothing", async (t) => {
  await proxy.addRoute("/user/victim", "http://127.0.0.1:9/victim");
  const { cookie, csrf } = await apiSession();
  const remove = (headers: Record<string, string>) =>
    admin("/admin/api/routes/delete", {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({ path: "/user/victim" }),
    });

  t.equal((await remove({ "x-csrf-token": csrf, origin })).status, 401, "no cookie: 401");
  t.equal((await remove({ cookie, origin })).status, 403, "no CSRF token: 403");
  t.equal(
    (await remove({ cookie, "x-csrf-token": `${csrf}x`, origin })).status,
    403,
    "wrong CSRF token: 403",
  );
  t.equal(
    (await remove({ cookie, "x-csrf-token": csrf, origin: "https://evil.example" })).status,
    403,
    "another origin: 403",
  );
  t.equal(
    (await remove({ cookie, "x-csrf-token": csrf, "sec-fetch-site": "cross-site" })).status,
    403,
    "a cross-site fetch: 403",
  );
  t.equal((await remove({ authorization: "token wrong" })).status, 401, "a wrong API token: 401");
  t.ok(await proxy.route("/user/victim"), "the route is still there");

  t.equal((await remove({ cookie, "x-csrf-token": csrf, origin })).status, 204, "with both: removed");
  t.equal(await proxy.route("/user/victim"), undefined);
  await proxy.addRoute("/user/victim", "http://127.0.0.1:9/victim");
  t.equal(
    (await remove({ authorization: `token ${TOKEN}` })).status,
    204,
    "a script with the token: removed",
  );
});

t.test("the same JSON is there for scripts with the token", async (t) => {
  const overview = await admin("/admin/api/overview", { headers: { authorization: `token ${TOKEN}` } });
  t.equal(overview.status, 200);
  t.match(JSON.parse(overview.body), { version: "0.1.0", routes: { count: Number }, totals: Object });
  const routes = await admin("/admin/api/routes", { headers: { authorization: `token ${TOKEN}` } });
  t.ok(
    (JSON.parse(routes.body) as { routes: Array<{ path: string }> }).routes.some(
      (r) => r.path === "/user/carol",
    ),
  );
  t.equal((await admin("/admin/api/overview")).status, 401, "and nothing without it");
});

/** Opens the live stream with `cookie` and resolves once the server ends it. */
function streamEnds(cookie: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(`${origin}/admin/api/events`, { ca, headers: { cookie } }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`stream answered ${res.statusCode}`));
      res.resume();
      res.on("end", resolve);
      res.on("close", resolve);
    });
    req.on("error", reject);
    req.end();
  });
}

t.test("sign-out ends the session and its live stream", async (t) => {
  await page.getByRole("link", { name: "Overview" }).click();
  const cookie = (await browser.context.cookies()).find((c) => c.name === "ltictr_admin");
  const header = `ltictr_admin=${cookie?.value}`;
  t.equal((await admin("/admin/api/overview", { headers: { cookie: header } })).status, 200, "signed in");
  const ended = streamEnds(header);

  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByLabel("API token").waitFor();
  t.ok(await page.locator("#app").isHidden());
  await ended;
  t.pass("the session's stream was closed");
  t.equal(
    (await admin("/admin/api/overview", { headers: { cookie: header } })).status,
    401,
    "cookie is dead",
  );
  t.same(
    (await browser.context.cookies()).filter((c) => c.name === "ltictr_admin"),
    [],
    "the browser dropped the cookie",
  );
});

t.test("nothing but the loopback was asked, no script error, no secret on the page", async (t) => {
  t.same(browser.outsideRequests, [], "no request left the machine (no CDN)");
  t.same(
    browser.pageErrors,
    [
      `Failed to load resource: the server responded with a status of 401 (Unauthorized) (${origin}/admin/api/login)`,
    ],
    "no console error (CSP violations included) but the wrong sign-in's 401",
  );
  const seen = (await browser.responseBodies()).join("\n") + (await page.content());
  t.notOk(seen.includes(TOKEN), "the API token never came back");
  await waitUntil(async () => (await browser.context.cookies()).length === 0, "no cookie left");
});
