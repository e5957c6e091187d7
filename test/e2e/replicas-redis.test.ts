import { randomUUID } from "node:crypto";
import { join } from "node:path";
import t, { type Test } from "tap";
import WebSocket from "ws";
import { startEchoBackend, type EchoBackend, type EchoReply } from "../support/echo-backend.js";
import { startFakeKernelServer } from "../support/fake-kernel.js";
import { KernelChannel } from "../support/hub-browser.js";
import { startLoopbackProxy, type LoopbackProxy } from "../support/loopback-proxy.js";
import { lticontainerLaunch, postLaunch } from "../support/lti-launch-post.js";
import { MoodleStandIn } from "../support/moodle-stand-in.js";
import { RedisServer } from "../support/redis-server.js";
import { tempDir } from "../support/temp-dir.js";
import { sleep, waitUntil } from "../support/wait.js";
import { json, webRequest } from "../support/web-client.js";

/**
 * Several replicas of the binary behind a load balancer, one route table in Redis: what JupyterHub writes through
 * one replica is routed by all, activity is merged, a replica or Redis going away never hangs a request.
 */

const TOKEN = "replica-api-token";
const MOODLE_TOKEN = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";

async function replicas(
  t: Test,
  redis: RedisServer,
  count: number,
  extra: string[] = [],
): Promise<LoopbackProxy[]> {
  const dir = tempDir(t, "ltictr-replicas-");
  const started = [];
  for (let i = 0; i < count; i++) {
    started.push(
      startLoopbackProxy(
        t,
        [
          ...["--storage-backend", redis.url()],
          ...["--launch-cookie-key-file", join(dir, "launch-cookie.key")],
          ...extra,
        ],
        { token: TOKEN, dataDir: join(dir, `replica-${i}`) },
      ),
    );
  }
  // Started together, as replicas behind one load balancer come up.
  return Promise.all(started);
}

async function routedTo(proxy: LoopbackProxy, path: string): Promise<string | number> {
  const answer = await webRequest(`${proxy.url}${path}`);
  return answer.status === 200 ? json<EchoReply>(answer).target : answer.status;
}

let echoA: EchoBackend;
let echoB: EchoBackend;
t.before(async () => {
  echoA = await startEchoBackend();
  echoB = await startEchoBackend();
});
t.teardown(async () => {
  await echoA.close();
  await echoB.close();
});

t.test("a route written through one replica is routed by every replica; DELETE stops them all", async (t) => {
  const redis = await RedisServer.start(t);
  const [one, two, three] = await replicas(t, redis, 3);
  await one.addRoute("/user/alice", echoA.target, { user: "alice" });
  for (const replica of [one, two, three]) {
    await waitUntil(
      async () => (await routedTo(replica, "/user/alice/lab")) === echoA.target,
      "the route on every replica",
      5000,
      10,
    );
  }
  t.pass("routed by all three");
  t.match(
    await two.route("/user/alice"),
    { target: echoA.target, user: "alice" },
    "the data travels with the route",
  );

  await two.addRoute("/user/alice", echoB.target, { user: "alice" });
  await waitUntil(
    async () => (await routedTo(three, "/user/alice/x")) === echoB.target,
    "a changed target everywhere",
    5000,
    10,
  );
  t.pass("a change through another replica wins everywhere");

  t.equal((await three.api("DELETE", "/user/alice")).status, 204);
  for (const replica of [one, two, three]) {
    await waitUntil(
      async () => (await routedTo(replica, "/user/alice/x")) === 404,
      "gone everywhere",
      5000,
      10,
    );
  }
  t.pass("DELETE on one replica stops the others");
});

t.test(
  "last_activity: notes from every replica are merged, the newest wins, inactive_since works",
  async (t) => {
    const redis = await RedisServer.start(t);
    const [one, two, three] = await replicas(t, redis, 3);
    await one.addRoute("/user/bob", echoA.target, { user: "bob" });
    await one.addRoute("/user/cid", echoA.target, { user: "cid" });
    const added = await one.lastActivity("/user/bob");
    await sleep(1100);
    const before = Date.now();
    t.equal((await webRequest(`${two.url}/user/bob/x`)).status, 200);
    t.equal((await webRequest(`${three.url}/user/bob/y`)).status, 200);
    // Replicas send their notes once a second; the reading replica folds in what Redis has.
    await waitUntil(
      async () => (await one.lastActivity("/user/bob")) >= before,
      "the merged activity",
      5000,
      100,
    );
    t.ok(
      (await one.lastActivity("/user/bob")) > added,
      "activity noted on other replicas shows on the one JupyterHub asks",
    );
    const since = new Date(before).toISOString();
    const inactive = json<Record<string, unknown>>(await one.api("GET", `?inactive_since=${since}`));
    t.ok("/user/cid" in inactive, "an idle route is inactive");
    t.notOk("/user/bob" in inactive, "a route used through other replicas is not");
  },
);

t.test("a killed replica: the others keep serving; a restarted one has the routes", async (t) => {
  const redis = await RedisServer.start(t);
  const [one, two] = await replicas(t, redis, 2);
  await one.addRoute("/user/dee", echoA.target);
  await waitUntil(
    async () => (await routedTo(two, "/user/dee/")) === echoA.target,
    "the route on the second replica",
    5000,
    10,
  );
  one.process.child.kill("SIGKILL");
  await one.process.exited();
  const statuses = new Set<string | number>();
  for (let i = 0; i < 20; i++) statuses.add(await routedTo(two, "/user/dee/x"));
  t.same([...statuses], [echoA.target], "the surviving replica serves every request");
  await two.addRoute("/user/eve", echoB.target);
  await one.restart();
  t.equal(await routedTo(one, "/user/dee/"), echoA.target, "routes are in Redis, not in the process");
  t.equal(await routedTo(one, "/user/eve/"), echoB.target, "including those added while it was down");
});

t.test(
  "Redis stopped and restarted while requests flow: no request hangs, writes 503, the table converges",
  async (t) => {
    const redis = await RedisServer.start(t, { persistent: true });
    const [one, two] = await replicas(t, redis, 2);
    await one.addRoute("/user/fay", echoA.target);
    await waitUntil(
      async () => (await routedTo(two, "/user/fay/")) === echoA.target,
      "the route on the second replica",
      5000,
      10,
    );

    let flowing = true;
    const slowest: number[] = [];
    const outcomes = new Set<string | number>();
    const traffic = (async () => {
      while (flowing) {
        const started = Date.now();
        outcomes.add(await routedTo(two, "/user/fay/x"));
        slowest.push(Date.now() - started);
      }
    })();
    await redis.stop();
    await sleep(300);
    const refused = await one.api("POST", "/user/gil", { target: echoB.target });
    t.equal(refused.status, 503, "a write without Redis answers 503");
    const writeStarted = Date.now();
    t.equal((await two.api("POST", "/user/gil", { target: echoB.target })).status, 503, "on every replica");
    t.ok(Date.now() - writeStarted < 3000, "at once, not after a hang");
    t.equal(
      json<Record<string, unknown>>(await two.api("GET", ""))["/user/fay"] !== undefined,
      true,
      "reads answer from the local table",
    );

    await redis.start();
    await waitUntil(
      async () => (await one.api("POST", "/user/gil", { target: echoB.target })).status === 201,
      "writes work again",
      15000,
      200,
    );
    await waitUntil(
      async () => (await routedTo(two, "/user/gil/")) === echoB.target,
      "the table converges",
      10000,
      50,
    );
    flowing = false;
    await traffic;
    t.same([...outcomes], [echoA.target], "every request during the outage was routed");
    t.ok(Math.max(...slowest) < 2000, `no request waited on Redis (slowest ${Math.max(...slowest)} ms)`);
  },
);

t.test("replicas starting at once write the default route once, and agree", async (t) => {
  const redis = await RedisServer.start(t);
  const [one, two, three] = await replicas(t, redis, 3, ["--default-target", echoA.target]);
  for (const replica of [one, two, three]) t.equal(await routedTo(replica, "/anything"), echoA.target);
  const routes = [one, two, three].map(async (replica) =>
    json<Record<string, unknown>>(await replica.api("GET", "")),
  );
  const tables = await Promise.all(routes);
  // Activity notes reach Redis once a second, so last_activity may differ for a moment; the route itself may not.
  const withoutActivity = ({ last_activity: _activity, ...data }: Record<string, unknown>) => data;
  for (const table of tables) {
    t.same(Object.keys(table), ["/"], "one route");
    t.same(
      withoutActivity(table["/"] as Record<string, unknown>),
      { target: echoA.target },
      "the same route on every replica",
    );
  }
});

t.test("a launch captured by one replica is read by another (shared launch-cookie key)", async (t) => {
  const redis = await RedisServer.start(t);
  const moodle = await MoodleStandIn.start({ tokens: [MOODLE_TOKEN], lti: { 13: 7 } });
  const kernel = await startFakeKernelServer();
  t.teardown(async () => {
    await kernel.close();
    await moodle.close();
  });
  const [one, two] = await replicas(t, redis, 2, ["--moodle-allow", moodle.origin]);
  await one.addRoute("/", kernel.url);
  await waitUntil(
    async () =>
      (await webRequest(`${two.url}/_chp_healthz`)).status === 200 && (await two.route("/")) !== undefined,
    "the route on the second replica",
    5000,
    20,
  );
  const cookie = await postLaunch(`${one.url}/lti/launch`, lticontainerLaunch(moodle.origin, MOODLE_TOKEN));
  t.ok(cookie, "the launch cookie from the first replica");
  const session = randomUUID();
  const socket = new WebSocket(
    `${two.url.replace("http", "ws")}/api/kernels/${randomUUID()}/channels?session_id=${session}`,
    {
      headers: { cookie: cookie ?? "" },
    },
  );
  await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
  t.teardown(() => socket.terminate());
  const channel = new KernelChannel(socket, session);
  t.equal(
    (await channel.execute("x", { timeoutMs: 5000, tags: ["filename:r.ipynb", "codenum:1"] })).status,
    "ok",
  );
  await waitUntil(() => moodle.processed.length >= 3, "the records at Moodle", 15000);
  const ltictr = moodle.processed.find((p) => p.log.host === "ltictr");
  t.match(
    ltictr?.log,
    { inst_id: "6", lti_id: "13", session },
    "the second replica read the first one's launch",
  );
});

t.test("corrupt values written into Redis by hand are skipped with a log line, never a crash", async (t) => {
  const redis = await RedisServer.start(t);
  const [one] = await replicas(t, redis, 1);
  await one.addRoute("/user/hal", echoA.target);
  const { execFileSync } = await import("node:child_process");
  const cli = (...args: string[]) =>
    execFileSync("redis-cli", ["-p", String(redis.port), ...args], { encoding: "utf8" });
  cli("HSET", "ltictr-proxy:route:/user/bad", "target", "not json {");
  cli("HSET", "ltictr-proxy:routes", "/user/bad", "garbage");
  cli("HSET", "ltictr-proxy:activity", "/user/hal", "yesterday");
  cli("INCR", "ltictr-proxy:seq");
  // A restart reloads the whole table from Redis, corrupt entries included.
  await one.restart();
  t.equal(await routedTo(one, "/user/hal/"), echoA.target, "the good route is served");
  t.equal((await one.api("GET", "")).status, 200, "the API answers");
  t.match(one.process.stdout(), /skipp|corrupt|invalid/i, "the corrupt values are logged");
  t.equal((await webRequest(`${one.url}/_chp_healthz`)).status, 200, "the replica runs");
});

t.test("a Redis URL that cannot be reached at start: exit 1 with one line", async (t) => {
  const { startProxy } = await import("../support/proxy-process.js");
  const { freePort } = await import("../support/ports.js");
  const port = await freePort();
  const proc = startProxy(
    [
      "--ip",
      "127.0.0.1",
      "--port",
      String(await freePort()),
      "--api-ip",
      "127.0.0.1",
      "--api-port",
      String(await freePort()),
      "--data-dir",
      tempDir(t),
      "--storage-backend",
      `redis://user:s3cret@127.0.0.1:${port}/0`,
    ],
    {},
  );
  t.equal(await proc.exited(), 1);
  const lines = proc.stderr().trim().split("\n");
  t.equal(lines.length, 1, "one line");
  t.match(lines[0], /^error: --storage-backend: .*127\.0\.0\.1/, "naming the Redis it could not use");
  t.notMatch(proc.stderr() + proc.stdout(), /s3cret/, "without the password");
});
