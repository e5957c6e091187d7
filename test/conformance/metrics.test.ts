import { join } from "node:path";
import { fileURLToPath } from "node:url";
import t from "tap";
import { CHP_METRIC_TYPES } from "../support/chp-metrics.js";
import { startEchoBackend } from "../support/echo-backend.js";
import { freePorts } from "../support/ports.js";
import { parsePrometheusText, sampleValue } from "../support/prometheus-text.js";
import { tempDir } from "../support/temp-dir.js";
import { sleep } from "../support/wait.js";
import { webRequest } from "../support/web-client.js";
import { openWebSocket } from "../support/websocket-client.js";
import { startProxyUnderTest } from "./harness.js";

// The Prometheus endpoint.

const DUMMY_STORE = fileURLToPath(new URL("../../../test/fixtures/dummy-store.cjs", import.meta.url));

const echo = await startEchoBackend();
t.teardown(() => echo.close());
const [metricsPort] = await freePorts(1);
const proxy = await startProxyUnderTest(
  t,
  ["--metrics-ip", "127.0.0.1", "--metrics-port", String(metricsPort)],
  {
    ready: /Serve metrics at/,
  },
);
const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;

/** The value of one series scraped now, 0 when absent. */
async function sample(name: string, labels?: Record<string, string>): Promise<number> {
  return sampleValue(parsePrometheusText((await webRequest(metricsUrl)).body), name, labels) ?? 0;
}

t.test("readiness line and content type", async (t) => {
  t.match(proxy.process.stdout(), `Serve metrics at http://127.0.0.1:${metricsPort}/metrics`);
  const answer = await webRequest(metricsUrl);
  t.equal(answer.status, 200);
  t.equal(answer.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  const post = await webRequest(metricsUrl, { method: "POST" });
  t.equal(post.status, 200, "any method");
  const elsewhere = await webRequest(`http://127.0.0.1:${metricsPort}/other`);
  t.equal(elsewhere.status, 404);
  t.equal(elsewhere.body, "Not Found");
});

t.test("CHP's nine names (no prefix, counters without _total), default and ltictr_ metrics", async (t) => {
  const text = (await webRequest(metricsUrl)).body;
  const families = parsePrometheusText(text);
  for (const [name, type] of Object.entries(CHP_METRIC_TYPES)) t.equal(families.get(name)?.type, type, name);
  t.match(text, /^process_cpu_user_seconds_total /m, "process_* defaults");
  t.match(text, /^nodejs_heap_size_total_bytes /m, "nodejs_* defaults");
  t.match(text, /^# TYPE ltictr_active_websockets gauge$/m);
  t.match(text, /^# TYPE ltictr_routes gauge$/m);
});

t.test("API counters", async (t) => {
  const before = {
    get: await sample("api_route_get"),
    add: await sample("api_route_add"),
    remove: await sample("api_route_delete"),
    created: await sample("requests_api", { status: "201" }),
  };
  await proxy.api("GET", "");
  await proxy.api("GET", "/single");
  await proxy.addRoute("/m", echo.target);
  await proxy.api("DELETE", "/m");
  await proxy.api("DELETE", "/m");
  t.equal(await sample("api_route_get"), before.get + 1, "the list GET counts, a single-route GET does not");
  t.equal(await sample("api_route_add"), before.add + 1);
  t.equal(await sample("api_route_delete"), before.remove + 2, "204 and 404 both count");
  t.equal(await sample("requests_api", { status: "201" }), before.created + 1);
  t.ok((await sample("requests_api", { status: "404" })) >= 2);
});

t.test("proxy counters", async (t) => {
  await proxy.addRoute("/p", echo.target);
  const before = {
    web: await sample("requests_web"),
    ok: await sample("requests_proxy", { status: "200" }),
    missing: await sample("requests_proxy", { status: "404" }),
    ws: await sample("requests_ws"),
    lookups: await sample("find_target_for_req_count"),
  };
  await webRequest(`${proxy.url}/p/x`);
  await webRequest(`${proxy.url}/nowhere`);
  await webRequest(`${proxy.url}/_chp_healthz`);
  const client = await openWebSocket(t, `ws://127.0.0.1:${proxy.port}/p/ws`);
  await client.next();
  t.equal(await sample("ltictr_active_websockets"), 1, "one relayed WebSocket open");
  await client.close();
  t.equal(await sample("requests_web"), before.web + 2, "the health check is not counted");
  t.equal(
    await sample("requests_proxy", { status: "200" }),
    before.ok + 1,
    "WebSocket successes are not in requests_proxy",
  );
  t.equal(await sample("requests_proxy", { status: "404" }), before.missing + 1);
  t.equal(await sample("requests_ws"), before.ws + 1);
  t.equal(await sample("find_target_for_req_count"), before.lookups + 3, "one lookup per routed request");
});

t.test("last_activity writes into a storage backend are timed", async (t) => {
  const [port] = await freePorts(1);
  const plugged = await startProxyUnderTest(
    t,
    ["--storage-backend", DUMMY_STORE, "--metrics-ip", "127.0.0.1", "--metrics-port", String(port)],
    { ready: /Serve metrics at/, env: { DUMMY_STORE_FILE: join(tempDir(t), "table.json") } },
  );
  const pluggedSample = async (name: string) =>
    sampleValue(parsePrometheusText((await webRequest(`http://127.0.0.1:${port}/metrics`)).body), name) ?? 0;
  await plugged.addRoute("/timed", echo.target);
  const added = await plugged.lastActivity("/timed");
  const before = await pluggedSample("last_activity_updating_count");
  await sleep(10);
  t.equal((await webRequest(`${plugged.url}/timed/x`)).status, 200);
  t.ok((await plugged.lastActivity("/timed")) > added, "the API read shows the request's activity");
  t.equal(await pluggedSample("last_activity_updating_count"), before + 1, "one timed store write");
});

t.test("with the in-memory store a request's activity shows at the next API read", async (t) => {
  await proxy.addRoute("/noted", echo.target);
  const added = await proxy.lastActivity("/noted");
  await sleep(10);
  t.equal((await webRequest(`${proxy.url}/noted/x`)).status, 200);
  t.ok((await proxy.lastActivity("/noted")) > added);
});
