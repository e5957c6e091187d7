import { randomUUID, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { stripVTControlCharacters } from "node:util";
import t, { type Test } from "tap";
import WebSocket from "ws";
import { CertificateAuthority, type IssuedCertificate } from "../support/certificates.js";
import { CHP_METRIC_TYPES } from "../support/chp-metrics.js";
import { startFakeKernelServer, type FakeKernelServer } from "../support/fake-kernel.js";
import { KernelChannel } from "../support/hub-browser.js";
import {
  sslArgs,
  startLoopbackProxy,
  type LoopbackProxy,
  type LoopbackProxyOptions,
} from "../support/loopback-proxy.js";
import { MoodleStandIn } from "../support/moodle-stand-in.js";
import { freePort } from "../support/ports.js";
import {
  parsePrometheusText,
  sampleSum,
  sampleValue,
  type MetricFamily,
} from "../support/prometheus-text.js";
import { waitUntil } from "../support/wait.js";
import { webRequest } from "../support/web-client.js";

/**
 * What an operator sees of the running binary: Prometheus metrics (CHP's names and ltictr_*), and logs in text
 * and JSON, with an access log, that never carry a token, cookie or password.
 */

const API_TOKEN = "metrics-api-token-0f8e2c";

async function fakeKernel(t: Test): Promise<FakeKernelServer> {
  const kernel = await startFakeKernelServer();
  t.teardown(() => kernel.close());
  return kernel;
}

function tlsServer(dir: string): { ca: CertificateAuthority; server: IssuedCertificate } {
  const ca = CertificateAuthority.root(dir, "test-ca");
  return { ca, server: ca.server("server") };
}

/** The binary serving HTTPS with `server`, routing everything to `target`, ready once the route is added. */
function startTlsProxy(
  t: Test,
  server: IssuedCertificate,
  target: string,
  args: string[],
  options: LoopbackProxyOptions = {},
): Promise<LoopbackProxy> {
  return startLoopbackProxy(t, [...sslArgs(server), "--default-target", target, ...args], {
    token: API_TOKEN,
    ready: /Route added \//,
    ...options,
  });
}

async function scrape(
  metricsPort: number,
): Promise<{ contentType: string; families: Map<string, MetricFamily> }> {
  const response = await webRequest(`http://127.0.0.1:${metricsPort}/metrics`);
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
  return {
    contentType: String(response.headers["content-type"]),
    families: parsePrometheusText(response.body),
  };
}

/** Polls /metrics until `check` holds; the limit only bounds a broken run. */
async function scrapeUntil(
  metricsPort: number,
  check: (families: Map<string, MetricFamily>) => boolean,
  what: string,
): Promise<Map<string, MetricFamily>> {
  let families = new Map<string, MetricFamily>();
  await waitUntil(async () => check((families = (await scrape(metricsPort)).families)), what, 15000);
  return families;
}

/** Opens a kernel channels socket through the proxy, as JupyterLab does. */
async function openKernel(
  proxy: LoopbackProxy,
  ca: string,
  extra: { query?: string; headers?: Record<string, string> } = {},
): Promise<KernelChannel> {
  const sessionId = randomUUID();
  const socket = new WebSocket(
    `wss://127.0.0.1:${proxy.port}/user/alice/api/kernels/${randomUUID()}/channels?session_id=${sessionId}${extra.query ?? ""}`,
    { ca, headers: extra.headers },
  );
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  return new KernelChannel(socket, sessionId);
}

const LTICTR_METRICS: Record<string, string> = {
  ltictr_active_websockets: "gauge",
  ltictr_upstream_errors: "counter",
  ltictr_routes: "gauge",
  ltictr_captured_executions: "counter",
  ltictr_delivery_queue_depth: "gauge",
  ltictr_delivery_queue_oldest_age_seconds: "gauge",
  ltictr_delivery_retries: "counter",
  ltictr_delivered_records: "counter",
  ltictr_dead_letters: "counter",
  ltictr_refused_records: "counter",
  ltictr_capture_skipped_messages: "counter",
  ltictr_capture_held_bytes: "gauge",
  ltictr_certificate_expiry_seconds: "gauge",
};

t.test("the test's Prometheus parser is strict", async (t) => {
  const good =
    '# HELP a_total A.\n# TYPE a_total counter\na_total{x="1",y="q\\"z"} 3\n\nb 1.5e3 1700000000000\n';
  const families = parsePrometheusText(good);
  t.equal(sampleValue(families, "a_total", { x: "1", y: 'q"z' }), 3, "labels with escapes");
  t.equal(sampleValue(families, "b"), 1500, "untyped sample with timestamp");
  for (const bad of [
    "a 1",
    "a{x=1} 1\n",
    'a{x="1" 1\n',
    "a one\n",
    "# TYPE a countr\n",
    "# TYPE a counter\na 1\n# TYPE a counter\n",
    "# TYPE a counter\na 1\na 2\n",
    "# TYPE a histogram\na 1\n",
    'a{x="1"}1\n',
    "# HELP a x\n# HELP a y\n",
  ]) {
    t.throws(() => parsePrometheusText(bad), `rejects ${JSON.stringify(bad)}`);
  }
});

t.test("--metrics-port: Prometheus text with CHP's and ltictr's metrics, moving with traffic", async (t) => {
  const kernel = await fakeKernel(t);
  const dir = t.testdir();
  const { ca, server } = tlsServer(dir);
  const metricsPort = await freePort();
  const proxy = await startTlsProxy(
    t,
    server,
    kernel.url,
    ["--metrics-ip", "127.0.0.1", "--metrics-port", String(metricsPort)],
    { dataDir: `${dir}/state` },
  );
  t.match(proxy.process.stdout(), `Serve metrics at http://127.0.0.1:${metricsPort}/metrics`, "metrics line");

  const first = await scrape(metricsPort);
  t.match(first.contentType, /^text\/plain; version=0\.0\.4/, "Prometheus text content type");
  for (const [name, type] of Object.entries({ ...CHP_METRIC_TYPES, ...LTICTR_METRICS })) {
    t.equal(first.families.get(name)?.type, type, `${name} is a ${type}`);
    t.ok(first.families.get(name)?.help, `${name} has HELP`);
  }
  t.ok(first.families.has("process_cpu_user_seconds_total"), "process metrics, as CHP has");
  t.equal(sampleValue(first.families, "requests_web"), 0, "no web requests yet");
  t.equal(sampleValue(first.families, "ltictr_routes"), 1, "one route (the default target)");
  t.equal(
    sampleValue(first.families, "ltictr_certificate_expiry_seconds"),
    Math.floor(Date.parse(new X509Certificate(readFileSync(server.cert)).validTo) / 1000),
    "certificate expiry exported as Unix time",
  );

  const base = `https://127.0.0.1:${proxy.port}`;
  for (const path of ["/user/alice/lab", "/user/alice/api/contents?x=1", "/hub/home"]) {
    t.equal((await webRequest(`${base}${path}`, { ca: ca.pem })).status, 200, `GET ${path}`);
  }
  t.equal((await proxy.api("GET", "")).status, 200, "API list");
  t.equal((await proxy.api("GET", "")).status, 200, "API list again");
  t.equal(
    (await proxy.api("GET", "", undefined, { authorization: "token wrong" })).status,
    403,
    "API refused",
  );
  t.equal((await proxy.api("POST", "/user/bob", { target: kernel.url })).status, 201, "route added");
  t.equal((await proxy.api("DELETE", "/user/bob")).status, 204, "route deleted");

  const afterWeb = await scrape(metricsPort);
  const delta = (name: string, labels?: Record<string, string>) =>
    (sampleValue(afterWeb.families, name, labels) ?? 0) - (sampleValue(first.families, name, labels) ?? 0);
  t.equal(delta("requests_web"), 3, "requests_web counts the three proxied requests");
  t.equal(delta("requests_proxy", { status: "200" }), 3, 'requests_proxy{status="200"} too');
  t.equal(delta("find_target_for_req_count"), 3, "one route lookup per request");
  t.equal(delta("requests_api", { status: "200" }), 2, "requests_api{status=200}");
  t.equal(delta("requests_api", { status: "403" }), 1, "requests_api{status=403}");
  t.equal(delta("requests_api", { status: "201" }), 1, "requests_api{status=201}");
  t.equal(delta("requests_api", { status: "204" }), 1, "requests_api{status=204}");
  t.equal(delta("api_route_get"), 2, "api_route_get");
  t.equal(delta("api_route_add"), 1, "api_route_add");
  t.equal(delta("api_route_delete"), 1, "api_route_delete");
  t.equal(sampleValue(afterWeb.families, "ltictr_routes"), 1, "back to one route");

  const channel = await openKernel(proxy, ca.pem);
  const open = await scrapeUntil(
    metricsPort,
    (families) => sampleValue(families, "ltictr_active_websockets") === 1,
    "one active WebSocket",
  );
  t.equal(sampleValue(open, "requests_ws"), 1, "requests_ws counts the upgrade");
  t.equal((await channel.execute("x = 1")).status, "ok", "a cell runs through the proxy");
  t.equal((await channel.execute("raise")).status, "error", "a failing cell too");
  const captured = await scrapeUntil(
    metricsPort,
    (families) => sampleSum(families, "ltictr_captured_executions") > 0,
    "captured executions",
  );
  const statuses = (captured.get("ltictr_captured_executions")?.samples ?? []).map((s) => s.labels.status);
  t.ok(statuses.includes("ok") && statuses.includes("error"), `ok and error results counted (${statuses})`);
  await channel.close();
  await scrapeUntil(
    metricsPort,
    (families) => sampleValue(families, "ltictr_active_websockets") === 0,
    "the WebSocket gauge back to 0",
  );
  t.pass("ltictr_active_websockets back to 0 after the socket closed");

  const notFound = await webRequest(`http://127.0.0.1:${metricsPort}/other`);
  t.equal(notFound.status, 404, "only /metrics is served");
});

/** Traffic of every kind: proxied HTTP(S), an API call, a WebSocket with two cells. */
async function someTraffic(proxy: LoopbackProxy, ca: string): Promise<void> {
  const base = `https://127.0.0.1:${proxy.port}`;
  await webRequest(`${base}/user/alice/tree?page=2`, { ca });
  await webRequest(`${base}/user/alice/api/contents`, { ca, method: "POST", body: "{}" });
  await proxy.api("GET", "");
  const channel = await openKernel(proxy, ca);
  await channel.execute("x = 1");
  await channel.execute("raise");
  await channel.close();
}

t.test("--log-format json: every line is a JSON object with level, time and msg", async (t) => {
  const kernel = await fakeKernel(t);
  const dir = t.testdir();
  const { ca, server } = tlsServer(dir);
  const proxy = await startTlsProxy(
    t,
    server,
    kernel.url,
    ["--log-format", "json", "--log-level", "debug", "--access-log"],
    { dataDir: `${dir}/state` },
  );
  await someTraffic(proxy, ca.pem);
  t.equal(await proxy.process.stop(), 2, "stopped with SIGTERM");
  const lines = proxy.process
    .stdout()
    .split("\n")
    .filter((line) => line !== "");
  t.ok(lines.length > 10, `${lines.length} lines logged`);
  let valid = 0;
  for (const line of lines) {
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      t.fail(`not JSON: ${line}`);
      continue;
    }
    const record = entry as { level?: unknown; time?: unknown; msg?: unknown };
    if (typeof record.level === "number" && typeof record.time === "number" && typeof record.msg === "string")
      valid++;
    else t.fail(`missing level/time/msg: ${line}`);
  }
  t.equal(valid, lines.length, "all lines have a numeric level and time and a msg");
  t.equal(proxy.process.stderr(), "", "nothing on stderr");
  const messages = lines.map((line) => (JSON.parse(line) as { msg: string }).msg);
  t.ok(messages.includes(`Route added / -> ${kernel.url}`), "CHP's readiness messages are msg texts");
  t.ok(
    messages.some((msg) => /^200 POST \/user\/alice\/api\/contents /.test(msg)),
    "the access log is in the JSON stream too",
  );
  t.ok(
    messages.includes(`PROXY WEB /user/alice/api/contents to ${kernel.url}`),
    "at debug level each proxied request names its upstream (CHP's line)",
  );
});

t.test("text logs have CHP's shape; --access-log adds one line per request without the query", async (t) => {
  const kernel = await fakeKernel(t);
  const dir = t.testdir();
  const { ca, server } = tlsServer(dir);
  // Both runs share one data dir, as one installation restarted with another flag.
  const start = (args: string[]) => startTlsProxy(t, server, kernel.url, args, { dataDir: `${dir}/state` });
  const requests = async (proxy: LoopbackProxy) => {
    const base = `https://127.0.0.1:${proxy.port}`;
    await webRequest(`${base}/logged/one?next=%2Fhub&q=hidden-query-value`, { ca: ca.pem });
    await webRequest(`${base}/logged/two`, { ca: ca.pem, method: "POST", body: "a=1" });
    await webRequest(`${base}/logged/slow?delay=50`, { ca: ca.pem, method: "DELETE" });
  };

  const quiet = await start([]);
  await requests(quiet);
  await someTraffic(quiet, ca.pem);
  t.equal(await quiet.process.stop(), 2, "stopped with SIGTERM");
  const chpLine = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[ConfigProxy\] (error|warn|info|debug): \S/;
  const lines = stripVTControlCharacters(quiet.process.stdout())
    .split("\n")
    .filter((line) => line !== "");
  t.ok(lines.length > 5, `${lines.length} lines`);
  t.same(
    lines.filter((line) => !chpLine.test(line)),
    [],
    "every line is '<ISO time> [ConfigProxy] <level>: <message>'",
  );
  t.notMatch(
    stripVTControlCharacters(quiet.process.stdout()),
    /logged\/one/,
    "no access log without --access-log",
  );
  t.notMatch(
    stripVTControlCharacters(quiet.process.stdout()),
    /PROXY WEB/,
    "nor CHP's debug line at info level",
  );

  const logging = await start(["--access-log"]);
  await requests(logging);
  t.equal(await logging.process.stop(), 2, "stopped with SIGTERM");
  const output = stripVTControlCharacters(logging.process.stdout());
  const accessLines = output.split("\n").filter((line) => line.includes("/logged/"));
  t.equal(accessLines.length, 3, "one line per proxied request");
  t.match(
    accessLines[0] ?? "",
    /\[ConfigProxy\] info: 200 GET \/logged\/one \d+(\.\d+)?ms /,
    "status, method, path",
  );
  t.match(accessLines[1] ?? "", /info: 200 POST \/logged\/two /, "POST");
  t.match(accessLines[2] ?? "", /info: 200 DELETE \/logged\/slow /, "DELETE");
  t.notMatch(output, /hidden-query-value|next=/, "the query string is not logged");
});

t.test("no secret reaches the logs, even at --log-level debug", async (t) => {
  const secrets = {
    apiToken: "SECRET1-api-token-4b1d",
    cookie: "SECRET2-session-cookie-77aa",
    queryToken: "SECRET3-query-token-1c2f",
    rpcToken: "SECRET4-rpc-token-9e0d",
    wrongApiToken: "SECRET5-wrong-api-token-a3b3",
    refusedRpcToken: "SECRET6-refused-rpc-token-c4d4",
    moodleToken: "SECRET7-moodle-token-e5f5",
  };
  const moodle = await MoodleStandIn.start({ tokens: [secrets.rpcToken], lti: { 13: 42 } });
  t.teardown(() => moodle.close());
  const kernel = await fakeKernel(t);
  const dir = t.testdir({ "moodle-token": secrets.moodleToken });
  const { ca, server } = tlsServer(dir);
  for (const format of ["text", "json"]) {
    await t.test(`--log-format ${format}`, async (t) => {
      const proxy = await startTlsProxy(
        t,
        server,
        kernel.url,
        [
          "--log-format",
          format,
          "--log-level",
          "debug",
          "--access-log",
          "--moodle-url",
          `${moodle.origin}/unreachable-moodle`,
          "--moodle-token-file",
          `${dir}/moodle-token`,
          "--moodle-allow",
          moodle.origin,
          "--delivery-batch-age",
          "0",
        ],
        { token: secrets.apiToken, dataDir: `${dir}/state-${format}` },
      );
      const base = `https://127.0.0.1:${proxy.port}`;
      const userHeaders = {
        authorization: `token ${secrets.apiToken}`,
        cookie: `session=${secrets.cookie}; _xsrf=abc`,
      };
      const wrongToken = { authorization: `token ${secrets.wrongApiToken}` };

      t.equal((await proxy.api("GET", "")).status, 200, "API with the token");
      t.equal((await proxy.api("GET", "", undefined, wrongToken)).status, 403, "API with a wrong token");
      t.equal(
        (await proxy.api("GET", `?token=${secrets.queryToken}`, undefined, wrongToken)).status,
        403,
        "API with a wrong token and a token in the query",
      );
      // Nothing listens on a free port: connections to it are refused.
      const dead = `http://127.0.0.1:${await freePort()}`;
      t.equal((await proxy.api("POST", "/dead", { target: dead })).status, 201, "a route to a dead upstream");
      const proxied = await webRequest(`${base}/user/alice/api/contents?token=${secrets.queryToken}`, {
        ca: ca.pem,
        headers: userHeaders,
      });
      t.equal(proxied.status, 200, "proxied request with token header, cookie and token query");
      const failed = await webRequest(`${base}/dead/x?token=${secrets.queryToken}`, {
        ca: ca.pem,
        headers: userHeaders,
      });
      t.equal(failed.status, 503, "a proxy error with the token in the query");

      const launch = (rpcToken: string) =>
        webRequest(`${base}/hub/lti/launch?token=${secrets.queryToken}`, {
          ca: ca.pem,
          method: "POST",
          headers: { ...userHeaders, "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({
            oauth_version: "1.0",
            oauth_nonce: randomUUID(),
            oauth_consumer_key: "moodle",
            oauth_signature: "c2lnbmF0dXJl",
            custom_lms_sessioninfo: "6,13",
            custom_lms_serverurl: moodle.origin,
            custom_lms_serverpath: "",
            custom_lms_rpctoken: rpcToken,
          }).toString(),
        });
      const callsBefore = moodle.calls.length;
      const processedBefore = moodle.processed.length;
      // Records of a launch go to its Moodle with its token; without a launch, to --moodle-url (which fails here).
      for (const rpcToken of [secrets.rpcToken, secrets.refusedRpcToken, undefined]) {
        let launchCookie = "";
        if (rpcToken !== undefined) {
          const answer = await launch(rpcToken);
          t.equal(answer.status, 200, "LTI launch forwarded");
          launchCookie =
            [answer.headers["set-cookie"] ?? []]
              .flat()
              .find((c) => c.startsWith("ltictr_launch="))
              ?.split(";")[0] ?? "";
          t.ok(launchCookie, "launch cookie set");
        }
        const channel = await openKernel(proxy, ca.pem, {
          query: `&token=${secrets.queryToken}`,
          headers: { ...userHeaders, cookie: `${userHeaders.cookie}; ${launchCookie}` },
        });
        t.equal((await channel.execute("x = 1")).status, "ok", "a cell");
        t.equal((await channel.execute("raise")).status, "error", "a failing cell");
        await channel.close();
      }
      const calls = () => moodle.calls.slice(callsBefore);
      await waitUntil(
        () => calls().some((call) => call.wstoken === secrets.refusedRpcToken),
        "Moodle to refuse a token",
      );
      await waitUntil(
        () => calls().some((call) => call.path.startsWith("/unreachable-moodle/")),
        "a call to the configured Moodle URL",
      );
      await waitUntil(
        () => moodle.processed.slice(processedBefore).some((log) => log.outcome === "ok"),
        "records delivered with the launch's token",
      );
      t.equal(await proxy.process.stop(), 2, "stopped with SIGTERM");

      const output = proxy.process.stdout() + proxy.process.stderr();
      t.ok(output.split("\n").length > 20, "plenty was logged at debug");
      for (const [name, secret] of Object.entries(secrets)) {
        const leaks = output.split("\n").filter((line) => line.includes(secret));
        t.same(leaks, [], `${name} is not in the logs`);
      }
    });
  }
});
