import t from "tap";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { EngineClient } from "../../../src/spawner/engine/engine-client.js";
import { startFakeEngine } from "../../support/fake-engine.js";
import { tempDir } from "../../support/temp-dir.js";

t.test(
  "the API version is the engine's own (from GET /_ping), at most the newest this driver knows",
  async (t) => {
    for (const [offered, used] of [
      ["1.41", "1.41"],
      ["1.44", "1.44"],
      ["1.52", "1.47"],
      ["2.0", "1.47"],
      ["v2", "1.41"],
      [undefined, "1.41"],
    ] as const) {
      const engine = await startFakeEngine(t, (request) =>
        request.url === "/_ping"
          ? { status: 200, raw: "OK", headers: offered ? { "Api-Version": offered } : undefined }
          : { status: 200, body: [] },
      );
      const client = new EngineClient({ socketPath: engine.socketPath });
      t.teardown(() => client.close());
      await client.request({ method: "GET", path: "/images/json" });
      await client.request({ method: "GET", path: "/volumes" });
      t.same(
        engine.requests.map((r) => r.url),
        ["/_ping", `/v${used}/images/json`, `/v${used}/volumes`],
        `engine offers ${offered ?? "nothing"}: asked once, then v${used}`,
      );
    }
  },
);

t.test("a configured API version is used as is; JSON bodies and query strings are sent", async (t) => {
  const engine = await startFakeEngine(t, () => ({ status: 201, body: { Id: "abc" } }));
  const client = new EngineClient({ socketPath: engine.socketPath, apiVersion: "1.43" });
  t.teardown(() => client.close());
  const response = await client.request({
    method: "POST",
    path: "/containers/create",
    query: { name: "a b&c", skipped: undefined, t: 5 },
    body: { Image: "x", Env: ["A=1"] },
  });
  t.same(response, { status: 201, body: { Id: "abc" } });
  t.same(engine.requests, [
    { method: "POST", url: "/v1.43/containers/create?name=a+b%26c&t=5", body: '{"Image":"x","Env":["A=1"]}' },
  ]);
});

t.test("answers that are not JSON come back as text, empty ones as undefined", async (t) => {
  const engine = await startFakeEngine(t, (r) =>
    r.url.endsWith("/a") ? { status: 500, raw: "plain failure" } : { status: 204 },
  );
  const client = new EngineClient({ socketPath: engine.socketPath, apiVersion: "1.41" });
  t.teardown(() => client.close());
  t.same(await client.request({ method: "GET", path: "/a" }), { status: 500, body: "plain failure" });
  t.same(await client.request({ method: "GET", path: "/b" }), { status: 204, body: undefined });
});

t.test("an answer larger than the bound fails instead of filling memory", async (t) => {
  const engine = await startFakeEngine(t, () => ({
    status: 200,
    raw: JSON.stringify(["x".repeat(200_000)]),
  }));
  const client = new EngineClient({
    socketPath: engine.socketPath,
    apiVersion: "1.41",
    maxResponseBytes: 100_000,
  });
  t.teardown(() => client.close());
  await t.rejects(client.request({ method: "GET", path: "/images/json" }), {
    code: "ENGINE_ERROR",
    message: "the container engine's answer to GET /v1.41/images/json is too large",
  });
});

t.test("an engine that does not answer in time is a timeout, naming the call", async (t) => {
  const engine = await startFakeEngine(t, () => "no-answer");
  const client = new EngineClient({ socketPath: engine.socketPath, apiVersion: "1.41", timeoutMs: 300 });
  t.teardown(() => client.close());
  await t.rejects(client.request({ method: "GET", path: "/volumes" }), {
    code: "ENGINE_TIMEOUT",
    message: `the container engine at ${engine.socketPath} did not answer GET /v1.41/volumes within 300 ms`,
  });
});

t.test("an unreachable engine says where and why", async (t) => {
  const dir = tempDir(t, "ltictr-engine-socket-");
  const missing = join(dir, "missing.sock");
  const client = new EngineClient({ socketPath: missing });
  t.teardown(() => client.close());
  await t.rejects(client.request({ method: "GET", path: "/images/json" }), {
    name: "EngineUnreachableError",
    code: "ENGINE_UNREACHABLE",
    message: `cannot reach the container engine at ${missing}: no such socket (is Docker running, or \`podman system service\`?)`,
  });
  await t.rejects(
    client.request({ method: "GET", path: "/images/json" }),
    { code: "ENGINE_UNREACHABLE" },
    "asks again",
  );

  // a socket file nobody listens on, as a stopped engine leaves it
  const stale = join(dir, "stale.sock");
  execFileSync("/usr/bin/python3", [
    "-c",
    "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])",
    stale,
  ]);
  const staleClient = new EngineClient({ socketPath: stale, apiVersion: "1.41" });
  t.teardown(() => staleClient.close());
  await t.rejects(staleClient.request({ method: "GET", path: "/volumes" }), {
    code: "ENGINE_UNREACHABLE",
    message: /: nothing listens on the socket/,
  });

  const engine = await startFakeEngine(t, () => "hang-up");
  const brokenClient = new EngineClient({ socketPath: engine.socketPath, apiVersion: "1.41" });
  t.teardown(() => brokenClient.close());
  await t.rejects(brokenClient.request({ method: "DELETE", path: "/volumes/x" }), {
    code: "ENGINE_UNREACHABLE",
    message: /: the connection broke during DELETE \/v1\.41\/volumes\/x/,
  });
});
