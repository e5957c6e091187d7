import { once } from "node:events";
import { createServer } from "node:http";
import { pino } from "pino";
import t from "tap";
import { AdminApp } from "../../../src/admin/admin-app.js";
import type { AdminSources } from "../../../src/admin/admin-sources.js";
import { TokenCheck } from "../../../src/api/token-check.js";
import { webRequest, type WebRequest } from "../../support/web-client.js";

/**
 * The admin application behind a plain HTTP listener, with stand-in sources: which requests it serves to whom,
 * and what it refuses. (The browser tests run it inside the binary.)
 */
const TOKEN = "unit-admin-token";
const removed: string[] = [];
const sources: AdminSources = {
  version: "9.9.9",
  startedAt: Date.now() - 5000,
  tokens: new TokenCheck(TOKEN),
  routes: {
    getAll: () => ({ "/user/a": { target: "http://10.0.0.1:8888", user: "a", last_activity: new Date(0) } }),
    get: () => undefined,
    remove: async (path) => {
      removed.push(path);
      return path === "/user/a";
    },
    flushActivity: async () => undefined,
    status: () => ({ backend: "memory", routes: 1 }),
  },
  relay: { status: () => ({ open: 0, byRoute: {} }), openCount: 0 },
  capture: {
    status: () => ({ sessions: [], pendingNonCellRequests: 0, heldBytes: 0, skippedMessages: 0 }),
    openCount: 0,
  },
  moodleOrigins: ["https://moodle.example"],
  listeners: () => undefined,
};
const app = new AdminApp(sources, pino({ level: "silent" }));
const server = createServer(app.handle);
server.listen(0, "127.0.0.1");
await once(server, "listening");
t.teardown(() => {
  app.close();
  server.close();
});
const address = server.address();
const origin = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
const get = (path: string, options: WebRequest = {}) => webRequest(`${origin}${path}`, options);
const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  webRequest(`${origin}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

t.test("the page and its files are served to anybody, with a strict policy", async (t) => {
  const page = await get("/admin/");
  t.equal(page.status, 200);
  t.match(page.headers["content-type"], /^text\/html/);
  t.match(page.headers["content-security-policy"], /default-src 'none'; script-src 'self'/);
  t.equal(page.headers["x-frame-options"], "DENY");
  const again = await get("/admin/", { headers: { "if-none-match": String(page.headers.etag) } });
  t.equal(again.status, 304, "unchanged files cost a 304");
  for (const file of ["/admin/app.js", "/admin/app.css", "/admin/vendor/uplot.js", "/admin/vendor/uplot.css"])
    t.equal((await get(file)).status, 200, file);
  t.match((await get("/admin/vendor/uplot.js")).body, /uPlot/, "uPlot from the installed package");
  t.equal((await get("/")).headers.location, "/admin/");
  t.equal((await get("/admin/other.js")).status, 404);
  t.equal((await post("/admin/app.js", {})).status, 405);
});

t.test("the API needs a session or the token", async (t) => {
  t.same(JSON.parse((await get("/admin/api/session")).body), { kind: "none" }, "the page asks first");
  const refused = await get("/admin/api/overview");
  t.equal(refused.status, 401);
  t.same(JSON.parse(refused.body), { error: "sign in first", code: "unauthorized" });
  t.equal((await get("/admin/api/overview", { headers: { authorization: "token nope" } })).status, 401);
  const overview = await get("/admin/api/overview", { headers: { authorization: `token ${TOKEN}` } });
  t.equal(overview.status, 200);
  t.match(JSON.parse(overview.body), {
    version: "9.9.9",
    moodle: [{ origin: "https://moodle.example", state: "idle" }],
    features: { delivery: false, engine: false },
  });
  t.equal(overview.headers["cache-control"], "no-store");
});

t.test("sign-in, CSRF-checked actions, sign-out", async (t) => {
  t.equal((await post("/admin/api/login", { token: "nope" })).status, 401, "a wrong token");
  t.equal((await post("/admin/api/login", { token: TOKEN }, { origin: "https://evil.example" })).status, 403);
  const login = await post("/admin/api/login", { token: TOKEN }, { origin });
  t.equal(login.status, 200);
  const setCookie = String(login.headers["set-cookie"]);
  t.match(setCookie, /^ltictr_admin=[\w-]{43}; Path=\/admin; Max-Age=28800; HttpOnly; SameSite=Strict$/);
  t.notMatch(login.body, TOKEN, "the token does not come back");
  t.match(
    login.headers,
    {
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      "x-frame-options": "DENY",
      "referrer-policy": "no-referrer",
    },
    "the sign-in answer carries the admin listener's headers",
  );
  const { csrfToken, kind } = JSON.parse(login.body) as { csrfToken: string; kind: string };
  t.equal(kind, "session");
  const cookie = setCookie.split(";")[0] ?? "";
  t.match(JSON.parse((await get("/admin/api/session", { headers: { cookie } })).body), {
    kind: "session",
    csrfToken,
  });

  const remove = (headers: Record<string, string>) =>
    post("/admin/api/routes/delete", { path: "/user/a" }, headers);
  t.equal((await remove({ cookie })).status, 403, "no CSRF token");
  t.match(JSON.parse((await remove({ cookie, "x-csrf-token": "x" })).body), { code: "bad_csrf_token" });
  t.same(removed, [], "nothing was removed");
  t.equal((await remove({ cookie, "x-csrf-token": csrfToken })).status, 204);
  t.same(removed, ["/user/a"]);
  const missing = await post(
    "/admin/api/routes/delete",
    { path: "/user/b" },
    { cookie, "x-csrf-token": csrfToken },
  );
  t.match(JSON.parse(missing.body), { code: "no_such_route" });

  const logout = await post("/admin/api/logout", {}, { cookie, "x-csrf-token": csrfToken });
  t.equal(logout.status, 204);
  t.equal(logout.headers["x-frame-options"], "DENY", "and so does the sign-out");
  t.match(String(logout.headers["set-cookie"]), /Max-Age=0/);
  t.equal((await get("/admin/api/overview", { headers: { cookie } })).status, 401, "the session is gone");
});

t.test("a form sign-in (no script) lands on the page", async (t) => {
  // Media types are case-insensitive: any spelling of the form's type is a form.
  for (const type of [
    "application/x-www-form-urlencoded",
    "Application/X-WWW-Form-URLEncoded; charset=UTF-8",
  ]) {
    const form = await webRequest(`${origin}/admin/api/login`, {
      method: "POST",
      headers: { "content-type": type },
      body: `token=${TOKEN}`,
    });
    t.equal(form.status, 303, type);
    t.equal(form.headers.location, "/admin/");
    t.match(String(form.headers["set-cookie"]), /^ltictr_admin=/);
    t.equal(form.headers["x-content-type-options"], "nosniff");
  }
});

t.test("parts that are not configured say so", async (t) => {
  const headers = { authorization: `token ${TOKEN}` };
  t.match(JSON.parse((await get("/admin/api/delivery", { headers })).body), { code: "no_delivery" });
  t.match(JSON.parse((await post("/admin/api/delivery/replay", {}, headers)).body), { code: "no_delivery" });
  t.match(JSON.parse((await get("/admin/api/images", { headers })).body), { code: "no_engine" });
  t.match(JSON.parse((await get("/admin/api/volumes", { headers })).body), { code: "no_engine" });
  const routes = JSON.parse((await get("/admin/api/routes", { headers })).body) as unknown;
  t.same(routes, {
    routes: [
      {
        path: "/user/a",
        target: "http://10.0.0.1:8888",
        user: "a",
        lastActivity: "1970-01-01T00:00:00.000Z",
        sockets: 0,
      },
    ],
  });
  t.same(JSON.parse((await get("/admin/api/results", { headers })).body), {
    rows: [],
    overflow: { ok: 0, error: 0 },
    unpaired: 0,
  });
  t.equal((await get("/admin/api/nothing", { headers })).status, 404);
});
