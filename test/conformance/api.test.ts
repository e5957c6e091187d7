import { connect } from "node:net";
import t from "tap";
import { startEchoBackend, type EchoReply } from "../support/echo-backend.js";
import { sleep } from "../support/wait.js";
import { json, webRequest } from "../support/web-client.js";
import { startProxyUnderTest, TOKEN } from "./harness.js";

// CHP's api_spec.js black-box, plus further API checks and the fixes of CHP's API bugs.

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const root = await startEchoBackend({ path: "/" });
const other = await startEchoBackend({ path: "/other" });
t.teardown(() => root.close());
t.teardown(() => other.close());
const proxy = await startProxyUnderTest(t, ["--default-target", root.target], {
  ready: /Route added \//,
});

const get = (path: string, headers?: Record<string, string>) => webRequest(proxy.url + path, { headers });
const apiRaw = (method: string, path: string, headers: Record<string, string> = {}, body?: string) =>
  webRequest(`${proxy.apiUrl}${path}`, { method, headers, body });

t.test("1-3: the default target serves /, / and any URL", async (t) => {
  for (const path of ["/", "/any/random/url"]) {
    const answer = await get(path);
    t.equal(answer.status, 200, path);
    const reply = json<EchoReply>(answer);
    t.equal(reply.target, root.target, `${path} reaches the default target`);
    t.equal(reply.url, path);
  }
});

t.test("4: GET /api/routes fetches the routing table", async (t) => {
  const answer = await proxy.api("GET", "");
  t.equal(answer.status, 200);
  t.match(answer.headers["content-type"], /^application\/json/);
  const routes = json<Record<string, { target: string; last_activity: string }>>(answer);
  t.same(Object.keys(routes), ["/"]);
  t.equal(routes["/"].target, root.target);
  t.match(routes["/"].last_activity, ISO_8601);
  t.notOk("jupyterhub" in routes["/"], "the default route is not a JupyterHub route");
  const withSlash = await proxy.api("GET", "/");
  t.same(json(withSlash), routes, "GET /api/routes/ is the same list");
});

t.test("5-6: GET /api/routes/<path> fetches a single route, 404 when missing", async (t) => {
  await proxy.addRoute("/path", "https://127.0.0.1:54321");
  const found = await proxy.api("GET", "/path");
  t.equal(found.status, 200);
  t.match(found.headers["content-type"], /^application\/json/);
  t.equal(json<{ target: string }>(found).target, "https://127.0.0.1:54321");
  const missing = await proxy.api("GET", "/path/not/there");
  t.equal(missing.status, 404);
  t.equal(missing.body, "");
  const slash = await proxy.api("GET", "/path/");
  t.equal(slash.status, 200, "a trailing slash names the same route");
  await proxy.api("DELETE", "/path");
});

t.test("7: POST /api/routes/<path> creates a route; extra fields stored verbatim", async (t) => {
  const extra = {
    user: "foo",
    server_name: "",
    jupyterhub: true,
    nested: { a: [1, null, "x"] },
    nothing: null,
  };
  const answer = await proxy.api("POST", "/user/foo", { ...extra, target: other.target });
  t.equal(answer.status, 201);
  t.equal(answer.body, "");
  const data = await proxy.route("/user/foo");
  t.ok(data);
  t.same({ ...data, last_activity: undefined }, { ...extra, target: other.target, last_activity: undefined });
  t.match(data?.last_activity, ISO_8601, "last_activity is an ISO 8601 timestamp");
  t.ok(Math.abs(Date.parse(String(data?.last_activity)) - Date.now()) < 60_000, "and it is now");
  const reply = json<EchoReply>(await get("/user/foo/lab"));
  t.equal(reply.target, other.target, "requests under the prefix reach the new target");
  await proxy.api("DELETE", "/user/foo");
});

t.test("8: POST /api/routes/<escaped path> stores the decoded path", async (t) => {
  t.equal((await proxy.api("POST", "/user/foo%40bar", { target: other.target })).status, 201);
  t.equal((await proxy.api("POST", "/b%40r/b%20r", { target: other.target })).status, 201);
  t.equal((await proxy.api("POST", "/a%2Fb", { target: other.target })).status, 201);
  const keys = Object.keys(json<Record<string, unknown>>(await proxy.api("GET", "")));
  t.ok(keys.includes("/user/foo@bar"), "%40 decoded to @");
  t.ok(keys.includes("/b@r/b r"), "%20 decoded to space");
  t.ok(keys.includes("/a/b"), "an encoded slash becomes a separator");
  t.equal((await proxy.api("POST", "/user/%E7%A7%80%E6%A8%B9", { target: other.target })).status, 201);
  t.equal(json<{ target: string }>(await proxy.api("GET", "/user/%E7%A7%80%E6%A8%B9")).target, other.target);
  t.ok(
    Object.keys(json<Record<string, unknown>>(await proxy.api("GET", ""))).includes("/user/秀樹"),
    "unicode decoded",
  );
  t.equal(json<EchoReply>(await get("/user/%E7%A7%80%E6%A8%B9/lab")).target, other.target);
  t.equal((await proxy.api("DELETE", "/user/%E7%A7%80%E6%A8%B9")).status, 204);
  t.equal(json<EchoReply>(await get("/user/foo@bar/path")).target, other.target);
  t.equal(json<EchoReply>(await get("/user/foo%40bar/path")).target, other.target, "@ and %40 are the same");
  t.equal(json<EchoReply>(await get("/b%40r/b%20r/x")).target, other.target);
  for (const path of ["/user/foo%40bar", "/b%40r/b%20r", "/a/b"]) {
    t.equal((await proxy.api("DELETE", path)).status, 204, `DELETE ${path}`);
  }
});

t.test("9: POST /api/routes (no path) replaces the root route; so does /api/routes/", async (t) => {
  t.equal((await proxy.api("POST", "", { target: other.target })).status, 201);
  t.equal(json<EchoReply>(await get("/")).target, other.target);
  t.equal((await proxy.api("POST", "/", { target: root.target })).status, 201);
  t.equal(json<EchoReply>(await get("/")).target, root.target);
  t.same(Object.keys(json<Record<string, unknown>>(await proxy.api("GET", ""))), ["/"]);
});

t.test("10: DELETE /api/routes/<path> deletes a route; 404 when missing", async (t) => {
  await proxy.addRoute("/user/bar", other.target);
  t.equal(json<EchoReply>(await get("/user/bar/x")).target, other.target);
  const deleted = await proxy.api("DELETE", "/user/bar");
  t.equal(deleted.status, 204);
  t.equal(deleted.body, "");
  t.equal(await proxy.route("/user/bar"), undefined);
  t.equal(json<EchoReply>(await get("/user/bar/x")).target, root.target, "falls back to /");
  const again = await proxy.api("DELETE", "/user/bar");
  t.equal(again.status, 404);
  t.equal(again.body, "");
  await proxy.addRoute("/user/slash", other.target);
  t.equal((await proxy.api("DELETE", "/user/slash/")).status, 204, "trailing slash tolerated on DELETE");
});

t.test("11: ?inactive_since= with a bad value is 400", async (t) => {
  for (const param of ["inactive_since", "inactiveSince"]) {
    const answer = await proxy.api("GET", `?${param}=endoftheuniverse`);
    t.equal(answer.status, 400, param);
    t.equal(answer.body, "Invalid datestamp 'endoftheuniverse' must be ISO8601.");
  }
  t.equal((await proxy.api("GET", "?inactive_since=")).status, 200, "an empty value is no filter");
});

t.test("12: ?inactive_since= filters by last_activity (strictly older)", async (t) => {
  await proxy.addRoute("/older", other.target);
  await sleep(50);
  const between = new Date();
  await sleep(50);
  await proxy.addRoute("/newer", other.target);
  const since = async (date: Date, param = "inactive_since") =>
    Object.keys(
      json<Record<string, unknown>>(
        await proxy.api("GET", `?${param}=${encodeURIComponent(date.toISOString())}`),
      ),
    );
  t.same(await since(new Date(0)), [], "nothing is older than 1970");
  const middle = await since(between);
  t.ok(middle.includes("/older") && !middle.includes("/newer"), "only the older route");
  t.same((await since(new Date(Date.now() + 3600_000), "inactiveSince")).sort(), ["/", "/newer", "/older"]);
  const rfc = await proxy.api(
    "GET",
    `?inactive_since=${encodeURIComponent("Thu, 01 Jan 2100 00:00:00 GMT")}`,
  );
  t.equal(Object.keys(json<Record<string, unknown>>(rfc)).length, 3, "any Date.parse-able date is accepted");
  await proxy.api("DELETE", "/older");
  await proxy.api("DELETE", "/newer");
});

t.test("POST overwrites last_activity and data (no merge)", async (t) => {
  await proxy.addRoute("/user/re", other.target, { user: "re", last_activity: "2000-01-01T00:00:00.000Z" });
  const first = await proxy.route("/user/re");
  t.not(first?.last_activity, "2000-01-01T00:00:00.000Z", "a client-supplied last_activity is ignored");
  await sleep(20);
  await proxy.addRoute("/user/re", root.target);
  const second = await proxy.route("/user/re");
  t.equal(second?.user, undefined, "re-POST replaces the whole object");
  t.ok(
    Date.parse(String(second?.last_activity)) > Date.parse(String(first?.last_activity)),
    "and resets last_activity",
  );
  await proxy.api("DELETE", "/user/re");
});

t.test("routes are listed in insertion order; a re-POST keeps the position", async (t) => {
  await proxy.addRoute("/order/b", other.target);
  await proxy.addRoute("/order/a", other.target);
  await proxy.addRoute("/order/b", root.target);
  const keys = Object.keys(json<Record<string, unknown>>(await proxy.api("GET", "")));
  t.same(keys, ["/", "/order/b", "/order/a"]);
  await proxy.api("DELETE", "/order/a");
  await proxy.api("DELETE", "/order/b");
});

t.test("403 with an empty body on a wrong or missing token; token/Bearer in any case accepted", async (t) => {
  for (const authorization of [
    undefined,
    "token wrong",
    `token ${TOKEN}x`,
    TOKEN,
    `Basic ${TOKEN}`,
    "token",
  ]) {
    const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
    const answer = await apiRaw("GET", "/api/routes", headers);
    t.equal(answer.status, 403, `GET with ${authorization ?? "no authorization"}`);
    t.equal(answer.body, "");
    const post = await apiRaw(
      "POST",
      "/api/routes/forbidden",
      headers,
      JSON.stringify({ target: other.target }),
    );
    t.equal(post.status, 403, "POST too");
  }
  t.equal(await proxy.route("/forbidden"), undefined, "no route was added by the rejected POSTs");
  for (const authorization of [
    `token ${TOKEN}`,
    `Token ${TOKEN}`,
    `TOKEN  ${TOKEN}`,
    `Bearer ${TOKEN}`,
    `bearer ${TOKEN}`,
  ]) {
    t.equal((await apiRaw("GET", "/api/routes", { authorization })).status, 200, authorization);
  }
});

t.test("405 'Method not supported' and 404 'Not Found' are answered before auth", async (t) => {
  for (const method of ["PUT", "PATCH", "OPTIONS"]) {
    const answer = await apiRaw(method, "/api/routes/x");
    t.equal(answer.status, 405, method);
    t.equal(answer.body, "Method not supported");
  }
  for (const path of ["/", "/api/", "/api/routesX", "/api"]) {
    const answer = await apiRaw("GET", path);
    t.equal(answer.status, 404, path);
    t.equal(answer.body, "Not Found");
  }
});

t.test("400 messages for bad POST bodies; nothing stored", async (t) => {
  const post = (body: string) =>
    apiRaw(
      "POST",
      "/api/routes/bad",
      { authorization: `token ${TOKEN}`, "content-type": "application/json" },
      body,
    );
  for (const body of ['{"target": 5}', "[]", '"http://x"', "7", "{}", "null"]) {
    const answer = await post(body);
    t.equal(answer.status, 400, body);
    t.equal(answer.body, "Must specify 'target' as string");
  }
  for (const body of ["", "{not json"]) {
    const answer = await post(body);
    t.equal(answer.status, 400, JSON.stringify(body));
    t.match(answer.body, /^Body not valid JSON: SyntaxError: /);
  }
  const notUrl = await post('{"target": "not a url"}');
  t.equal(notUrl.status, 400, "a target that is not a URL is refused (deliberate difference)");
  t.equal(await proxy.route("/bad"), undefined);
});

t.test("auth is checked before the body is parsed", async (t) => {
  const answer = await apiRaw("POST", "/api/routes/x", { authorization: "token wrong" }, "{not json");
  t.equal(answer.status, 403);
});

t.test("a body over the limit is 413", async (t) => {
  // A raw client that stops sending once it has the answer: the proxy may answer (and close) before the 2 MiB are
  // written, and an HTTP client library would then report the write's EPIPE instead of the answer.
  const { hostname, port } = new URL(proxy.apiUrl);
  const length = 2 * 1024 * 1024;
  const head =
    `POST /api/routes/big HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: token ${TOKEN}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${length}\r\n\r\n{"target":"${other.target}","pad":"`;
  const statusLine = await new Promise<string>((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = "";
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
      if (received.includes("\r\n")) {
        socket.destroy();
        resolve(received.split("\r\n")[0]);
      }
    });
    socket.on("error", (error) => (received ? resolve(received.split("\r\n")[0]) : reject(error)));
    socket.write(head);
    const piece = Buffer.alloc(64 * 1024, 0x78);
    let sent = head.length;
    const send = () => {
      while (sent < length && !socket.destroyed) {
        sent += piece.length;
        if (!socket.write(piece)) {
          socket.once("drain", send);
          return;
        }
      }
    };
    send();
  });
  t.match(statusLine, /^HTTP\/1\.1 413 /);
  t.equal(await proxy.route("/big"), undefined);
});

t.test("DELETE /api/routes (no slash) answers like /api/routes/", async (t) => {
  await proxy.addRoute("/", other.target);
  const deleted = await proxy.api("DELETE", "");
  t.equal(deleted.status, 204);
  t.same(json(await proxy.api("GET", "")), {}, "the root route is gone");
  t.equal((await proxy.api("DELETE", "")).status, 404);
  await proxy.addRoute("/", root.target);
});

t.test("a malformed %-escape in the API path is 400, not a hang", async (t) => {
  for (const method of ["GET", "POST", "DELETE"]) {
    const answer = await proxy.api(method, "/%", method === "POST" ? { target: other.target } : undefined);
    t.equal(answer.status, 400, method);
  }
  t.equal((await proxy.api("GET", "/a%zz")).status, 400);
});

t.test("segments named like Object.prototype members are ordinary route names", async (t) => {
  for (const path of ["/constructor", "/user/__proto__", "/toString/hasOwnProperty"]) {
    t.equal((await proxy.api("POST", path, { target: other.target })).status, 201, `POST ${path}`);
    t.equal(json<{ target: string }>(await proxy.api("GET", path)).target, other.target, `GET ${path}`);
    t.equal(json<EchoReply>(await get(`${path}/x`)).target, other.target, `proxied ${path}/x`);
    t.equal((await proxy.api("DELETE", path)).status, 204, `DELETE ${path}`);
  }
  t.same(Object.keys(json<Record<string, unknown>>(await proxy.api("GET", ""))), ["/"]);
});

t.test("an open API (no token configured) allows everything and warns", async (t) => {
  const open = await startProxyUnderTest(t, [], { token: "" });
  t.match(open.process.stdout(), /REST API is not authenticated\./);
  const answer = await webRequest(`${open.apiUrl}/api/routes/free`, {
    method: "POST",
    body: JSON.stringify({ target: other.target }),
  });
  t.equal(answer.status, 201);
  t.equal((await webRequest(`${open.apiUrl}/api/routes`)).status, 200);
});
