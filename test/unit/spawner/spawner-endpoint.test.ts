import t, { type Test } from "tap";
import { createServer, type RequestListener } from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { request } from "undici";
import { apiDispatcher } from "../../../src/api/api-dispatcher.js";
import { TokenCheck } from "../../../src/api/token-check.js";
import { EngineUnreachableError } from "../../../src/spawner/engine/engine-errors.js";
import { LaunchRefused } from "../../../src/spawner/plan/launch-refused.js";
import type { SpawnerOperations } from "../../../src/spawner/service/container-spawner.js";
import { SpawnerEndpoint } from "../../../src/spawner/service/spawner-endpoint.js";
import type { StartRequest } from "../../../src/spawner/service/spawn-request.js";
import { captureLogger } from "../../support/log-capture.js";

const TOKEN = "api-token-0123";
const HUB_TOKEN = "hub-api-token-secret";

/** Operations that record what reached them and answer from the launch's `outcome` parameter. */
function operations(): SpawnerOperations & { started: StartRequest[] } {
  const started: StartRequest[] = [];
  return {
    started,
    async start(request) {
      started.push(request);
      const outcome = request.launch.get("outcome");
      if (outcome === "refused")
        throw new LaunchRefused("LAUNCH_UNSAFE_VALUE", "custom_lms_image", '"a;b" is not an image name');
      if (outcome === "engine-down") throw new EngineUnreachableError("/run/engine.sock", "no such socket");
      if (outcome === "bug") throw new TypeError("cannot read properties of undefined (reading 'port')");
      return { id: "f00d", name: "jupyterhub-1-2-h-abc-alice", ip: "127.0.0.1", port: 40001, warnings: [] };
    },
    async poll() {
      return { running: true };
    },
    async stop() {
      return { removed: true };
    },
  };
}

async function serve(t: Test, handler: RequestListener): Promise<string> {
  const server = createServer(handler);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function endpoint(t: Test) {
  const ops = operations();
  const log = captureLogger();
  const spawner = new SpawnerEndpoint({ operations: ops, tokens: new TokenCheck(TOKEN), log: log.logger });
  const routes: RequestListener = (_req, res) => res.end("routes api");
  const url = await serve(t, apiDispatcher({ routes, spawner: spawner.handle, log: log.logger }));
  const call = async (
    path: string,
    body: unknown,
    headers: Record<string, string> = { authorization: `token ${TOKEN}`, "content-type": "application/json" },
    method: "POST" | "GET" = "POST",
  ) => {
    const response = await request(url + path, {
      method,
      headers,
      body: method === "GET" ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await response.body.text();
    return { status: response.statusCode, type: response.headers["content-type"], text };
  };
  return { ops, log, call, url };
}

const startBody = (outcome: string) => ({
  user: "alice",
  server: "",
  launch: { context_id: "1", outcome },
  environment: { JUPYTERHUB_API_TOKEN: HUB_TOKEN },
  command: null,
  args: [],
});

t.test("start, poll, stop: JSON in and out", async (t) => {
  const { ops, call } = await endpoint(t);
  const started = await call("/api/spawner/start", startBody("ok"));
  t.same([started.status, started.type], [201, "application/json"]);
  t.same(JSON.parse(started.text), {
    id: "f00d",
    name: "jupyterhub-1-2-h-abc-alice",
    ip: "127.0.0.1",
    port: 40001,
    warnings: [],
  });
  t.same(
    [...ops.started[0]!.launch],
    [
      ["context_id", "1"],
      ["outcome", "ok"],
    ],
  );
  t.same(JSON.parse((await call("/api/spawner/poll", { user: "alice", id: "f00d" })).text), {
    running: true,
  });
  t.same(JSON.parse((await call("/api/spawner/stop", { user: "alice", id: "f00d" })).text), {
    removed: true,
  });
});

t.test("refusals are JSON with a code, a message and the field", async (t) => {
  const { call, log } = await endpoint(t);
  const answers: Array<[Awaited<ReturnType<typeof call>>, number, Record<string, unknown>]> = [
    [
      await call("/api/spawner/start", startBody("refused")),
      400,
      { error: "LAUNCH_UNSAFE_VALUE", field: "custom_lms_image" },
    ],
    [
      await call("/api/spawner/start", startBody("engine-down")),
      503,
      { error: "ENGINE_UNREACHABLE", message: /no such socket/ },
    ],
    [await call("/api/spawner/start", "{"), 400, { error: "SPAWN_REQUEST_INVALID", field: "body" }],
    [await call("/api/spawner/start", { user: "a" }), 400, { field: "environment" }],
    [
      await call("/api/spawner/start", startBody("ok"), {
        authorization: "token wrong",
        "content-type": "application/json",
      }),
      403,
      { error: "FORBIDDEN" },
    ],
    [
      await call("/api/spawner/start", startBody("ok"), { "content-type": "application/json" }),
      403,
      { error: "FORBIDDEN" },
    ],
    [
      await call("/api/spawner/start", startBody("ok"), {
        authorization: `token ${TOKEN}`,
        "content-type": "text/plain",
      }),
      415,
      { error: "UNSUPPORTED_MEDIA_TYPE" },
    ],
    [await call("/api/spawner/start", "x".repeat(300 * 1024)), 413, { error: "SPAWN_REQUEST_TOO_LARGE" }],
    [await call("/api/spawner/start", undefined, {}, "GET"), 405, { error: "METHOD_NOT_ALLOWED" }],
    [await call("/api/spawner/exec", {}), 404, { error: "NOT_FOUND" }],
    [await call("/api/spawner", {}), 404, { error: "NOT_FOUND" }],
  ];
  for (const [answer, status, body] of answers) {
    t.equal(answer.status, status, answer.text);
    t.equal(answer.type, "application/json");
    t.match(JSON.parse(answer.text), body);
  }
  const bug = await call("/api/spawner/start", startBody("bug"));
  t.same(
    [bug.status, JSON.parse(bug.text)],
    [
      500,
      { error: "INTERNAL_ERROR", message: "internal error in the spawner endpoint (see the proxy's log)" },
    ],
  );
  t.notMatch(bug.text, /reading 'port'/, "an unexpected error's text is not answered");
  t.match(log.messages().join("\n"), /Spawner endpoint \/api\/spawner\/start failed/, "but logged");
  t.match(
    log.messages().join("\n"),
    /400 POST \/api\/spawner\/start alice custom_lms_image: "a;b" is not an image name/,
  );
  t.notMatch(log.messages().join("\n"), HUB_TOKEN, "no log message carries JupyterHub's API token");
});

t.test("the routes API keeps every other path", async (t) => {
  const { url } = await endpoint(t);
  for (const path of ["/api/routes", "/api/spawnerx", "/api/routes/api/spawner/start"]) {
    t.equal(await (await request(url + path)).body.text(), "routes api", path);
  }
});

t.test("without an engine the spawner paths answer 404 with what to do", async (t) => {
  const log = captureLogger();
  const url = await serve(
    t,
    apiDispatcher({ routes: (_req, res) => res.end("routes api"), log: log.logger }),
  );
  const response = await request(`${url}/api/spawner/start`, { method: "POST", body: "{}" });
  t.equal(response.statusCode, 404);
  t.same(await response.body.json(), {
    error: "SPAWNER_DISABLED",
    message: "the spawner endpoint is off: start ltictr-proxy with --engine-socket <Docker or Podman socket>",
  });
  t.equal(await (await request(`${url}/api/routes`)).body.text(), "routes api");
});
