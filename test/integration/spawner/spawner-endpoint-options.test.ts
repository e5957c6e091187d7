import t from "tap";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { request } from "undici";
import { freePorts } from "../../support/ports.js";
import { startProxy } from "../../support/proxy-process.js";
import { tempDir } from "../../support/temp-dir.js";

/**
 * `--engine-socket` and `--spawner-policy` on the binary: the endpoint is there only with an engine, the proxy
 * starts and keeps serving while the engine is down, and a bad policy stops it at start.
 */

const TOKEN = "spawner-options-token";

async function startWith(t: Parameters<typeof tempDir>[0], args: string[]) {
  const [port, apiPort] = await freePorts(2);
  const dir = tempDir(t, "ltictr-spawner-options-");
  const proxy = startProxy(
    [
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--api-ip",
      "127.0.0.1",
      "--api-port",
      String(apiPort),
      "--data-dir",
      dir,
      ...args,
    ],
    { CONFIGPROXY_AUTH_TOKEN: TOKEN },
  );
  t.teardown(() => proxy.stop());
  return { proxy, api: `http://127.0.0.1:${apiPort}` };
}

async function post(url: string, body: unknown) {
  const response = await request(url, {
    method: "POST",
    headers: { authorization: `token ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await response.body.text();
  return {
    status: response.statusCode,
    body: (text === "" ? {} : JSON.parse(text)) as Record<string, unknown>,
  };
}

t.test("without --engine-socket the spawner paths say how to turn them on", async (t) => {
  const { proxy, api } = await startWith(t, []);
  await proxy.waitFor(/Proxy API at /);
  t.match(await post(`${api}/api/spawner/start`, {}), {
    status: 404,
    body: { error: "SPAWNER_DISABLED", message: /--engine-socket/ },
  });
});

t.test("an engine that is not there: the spawn fails clearly, the proxy keeps serving", async (t) => {
  const { proxy, api } = await startWith(t, ["--engine-socket", "/nonexistent/engine.sock"]);
  await proxy.waitFor(/Proxy API at /);
  t.match(
    proxy.stdout(),
    /Spawner endpoint at \/api\/spawner, container engine \/nonexistent\/engine\.sock, policy \(built-in defaults\)/,
  );
  const launch = { context_id: "1", user_id: "7" };
  const answer = await post(`${api}/api/spawner/start`, { user: "alice", launch, environment: {} });
  t.match(answer, {
    status: 503,
    body: {
      error: "ENGINE_UNREACHABLE",
      message:
        "cannot reach the container engine at /nonexistent/engine.sock: no such socket (is Docker running, or `podman system service`?)",
    },
  });
  t.equal(
    (await post(`${api}/api/routes/x`, { target: "http://127.0.0.1:1" })).status,
    201,
    "the routes API still works",
  );
  t.equal(proxy.child.exitCode, null, "the proxy still runs");
});

t.test("a policy the proxy cannot use stops it at start with the file and key named", async (t) => {
  const dir = tempDir(t, "ltictr-spawner-policy-");
  const policy = join(dir, "policy.json");
  writeFileSync(policy, JSON.stringify({ networkMode: "container:abc" }));
  const { proxy } = await startWith(t, [
    "--engine-socket",
    "/nonexistent/engine.sock",
    "--spawner-policy",
    policy,
  ]);
  t.equal(await proxy.exited(), 1);
  t.match(proxy.stderr(), `error: --spawner-policy: ${policy}: networkMode must be a network name`);
});
