import t, { type Test } from "tap";
import { EngineClient } from "../../../src/spawner/engine/engine-client.js";
import type { ContainerCreateBody } from "../../../src/spawner/container-create.js";
import { MemoryAccounts } from "../../../src/spawner/host/account-resolver.js";
import type { HostDirectory } from "../../../src/spawner/plan/plan-container.js";
import { DEFAULT_SPAWNER_POLICY } from "../../../src/spawner/policy/spawner-policy.js";
import { ContainerSpawner } from "../../../src/spawner/service/container-spawner.js";
import type { StartRequest } from "../../../src/spawner/service/spawn-request.js";
import { captureLogger } from "../../support/log-capture.js";
import { startFakeEngine, type FakeAnswer, type ReceivedRequest } from "../../support/fake-engine.js";
import { launch } from "../../support/spawner-launch.js";

interface FakeContainer {
  id: string;
  name: string;
  labels: Record<string, string>;
  running: boolean;
  exitCode: number;
  body: ContainerCreateBody;
}

/**
 * A container engine with just enough state for the spawner: one image, containers that can be created,
 * started, inspected, listed, stopped and removed. `failStart` makes starts fail.
 */
async function engineWith(t: Test, options: { images?: string[]; failStart?: boolean } = {}) {
  const containers = new Map<string, FakeContainer>();
  let next = 1;
  const handler = (request: ReceivedRequest): FakeAnswer | undefined => {
    const url = new URL(request.url, "http://engine");
    const path = url.pathname.replace(/^\/v1\.41/, "");
    const container = containers.get(path.split("/")[2] ?? "");
    if (request.method === "GET" && path.startsWith("/images/")) {
      const image = path.slice("/images/".length, -"/json".length);
      return (options.images ?? [DEFAULT_SPAWNER_POLICY.image]).includes(image)
        ? { status: 200, body: { Id: "sha256:1" } }
        : { status: 404, body: { message: "no such image" } };
    }
    if (request.method === "GET" && path === "/containers/json") {
      return {
        status: 200,
        body: [...containers.values()].map((c) => ({
          Id: c.id,
          Names: [`/${c.name}`],
          State: c.running ? "running" : "exited",
          Labels: c.labels,
        })),
      };
    }
    if (request.method === "POST" && path === "/containers/create") {
      const body = JSON.parse(request.body) as ContainerCreateBody;
      const id = `c${next++}`;
      const name = url.searchParams.get("name") ?? id;
      containers.set(id, { id, name, labels: body.Labels ?? {}, running: false, exitCode: 0, body });
      return { status: 201, body: { Id: id, Warnings: [] } };
    }
    if (!container) return { status: 404, body: { message: "no such container" } };
    if (request.method === "POST" && path.endsWith("/start")) {
      if (options.failStart) return { status: 500, body: { message: "runc: cannot start" } };
      container.running = true;
      return { status: 204 };
    }
    if (request.method === "POST" && path.endsWith("/stop")) {
      container.running = false;
      container.exitCode = 143;
      return { status: 204 };
    }
    if (request.method === "DELETE") {
      containers.delete(container.id);
      return { status: 204 };
    }
    if (request.method === "GET" && path.endsWith("/json")) {
      return {
        status: 200,
        body: {
          Id: container.id,
          Name: `/${container.name}`,
          Config: { Labels: container.labels, Env: container.body.Env },
          State: {
            Status: container.running ? "running" : "exited",
            Running: container.running,
            ExitCode: container.exitCode,
          },
          NetworkSettings: {
            Ports: container.running ? { "8888/tcp": [{ HostIp: "127.0.0.1", HostPort: "40001" }] } : {},
          },
        },
      };
    }
    return undefined;
  };
  const engine = await startFakeEngine(t, handler);
  const client = new EngineClient({ socketPath: engine.socketPath, apiVersion: "1.41" });
  t.teardown(() => client.close());
  return { engine, client, containers };
}

function spawnerFor(client: EngineClient) {
  const directories: HostDirectory[][] = [];
  const log = captureLogger();
  const spawner = new ContainerSpawner({
    engine: client,
    policy: { ...DEFAULT_SPAWNER_POLICY, hubHostAlias: "10.0.2.2" },
    accounts: () => new MemoryAccounts(),
    hostFiles: { isFile: () => false },
    makeDirectories: async (planned) => void directories.push([...planned]),
    log: log.logger,
    removalWaitMs: 1000,
  });
  return { spawner, directories, log };
}

const START: StartRequest = {
  user: "student1",
  server: "",
  launch: launch(),
  environment: {
    JUPYTERHUB_API_TOKEN: "secret-api-token",
    JUPYTERHUB_API_URL: "http://127.0.0.1:8081/hub/api",
    JUPYTERHUB_SERVICE_URL: "http://127.0.0.1:0/user/student1/",
  },
  args: [],
};

t.test("start: plan, folders, labelled container started, published port answered", async (t) => {
  const { engine, client, containers } = await engineWith(t);
  const { spawner, directories, log } = spawnerFor(client);
  const started = await spawner.start(START);
  t.match(started, { id: "c1", ip: "127.0.0.1", port: 40001, warnings: [] });
  t.match(started.name, /^jupyterhub-219-12-el\.mml\.tuis\.ac\.jp-[A-Za-z0-9]{8}-student1$/);
  t.same(
    engine.requests.map((request) => `${request.method} ${request.url.split("?")[0]}`),
    [
      "GET /v1.41/images/ghcr.io/jupyter-fumihax/jupyterhub-ltictr.singleuser/json",
      "GET /v1.41/containers/json",
      "POST /v1.41/containers/create",
      "POST /v1.41/containers/c1/start",
      "GET /v1.41/containers/c1/json",
    ],
  );
  t.same(
    directories[0]!.map((d) => d.path),
    [
      "/home/others",
      "/home/others/student1",
      "/home/others/student1/jupyter",
      "/home/others/student1/jupyter/works",
    ],
    "the plan's folders, before the container is created",
  );
  const body = containers.get("c1")!.body;
  t.same(body.Labels, { "ltictr-proxy.user": "student1", "ltictr-proxy.server": "" });
  t.ok(body.Env?.includes("JUPYTERHUB_API_URL=http://10.0.2.2:8081/hub/api"), "Hub URL for the container");
  t.ok(body.Env?.includes("JUPYTERHUB_SERVICE_URL=http://0.0.0.0:8888/user/student1/"), "bind address");
  t.equal(body.HostConfig?.Memory, 1024 ** 3);
  t.notMatch(log.lines.join("\n"), /secret-api-token/, "the API token is not logged");
});

t.test("a refused launch creates nothing and calls no engine", async (t) => {
  const { engine, client } = await engineWith(t);
  const { spawner, directories } = spawnerFor(client);
  await t.rejects(spawner.start({ ...START, launch: launch([["lms_image", "alpine;id"]]) }), {
    name: "LaunchRefused",
    field: "custom_lms_image",
  });
  t.same([engine.requests.length, directories.length], [0, 0]);
});

t.test("an image the engine does not have: refused before any folder or container", async (t) => {
  const { engine, client } = await engineWith(t, { images: [] });
  const { spawner, directories } = spawnerFor(client);
  await t.rejects(spawner.start(START), { code: "IMAGE_NOT_FOUND" });
  t.same([engine.requests.length, directories.length], [1, 0]);
});

t.test("a container left from an earlier start of the same server is removed first", async (t) => {
  const { client, containers } = await engineWith(t);
  const { spawner, log } = spawnerFor(client);
  const first = await spawner.start(START);
  await spawner.start({ ...START, user: "student2", launch: launch([["user_id", "77"]]) });
  const second = await spawner.start(START);
  t.not(second.id, first.id);
  t.same(
    [...containers.values()].map((c) => [c.labels["ltictr-proxy.user"], c.id]),
    [
      ["student2", "c2"],
      ["student1", "c3"],
    ],
    "student1's old container is gone, student2's stays",
  );
  t.match(
    log.messages().join("\n"),
    /Removing container jupyterhub-.*-student1 \(running\), left from an earlier start/,
  );
});

t.test("a container that fails to start is removed again", async (t) => {
  const { client, containers } = await engineWith(t, { failStart: true });
  const { spawner } = spawnerFor(client);
  await t.rejects(spawner.start(START), { code: "ENGINE_ERROR", message: /runc: cannot start/ });
  t.equal(containers.size, 0);
});

t.test("poll and stop act only on the server's own container", async (t) => {
  const { client, containers } = await engineWith(t);
  const { spawner } = spawnerFor(client);
  const { id } = await spawner.start(START);
  const own = { user: "student1", server: "", id };
  t.same(await spawner.poll(own), { running: true });
  await t.rejects(spawner.poll({ ...own, user: "student2" }), { code: "CONTAINER_NOT_OWNED" });
  await t.rejects(spawner.stop({ ...own, server: "other", timeoutSeconds: 1 }), {
    code: "CONTAINER_NOT_OWNED",
  });
  t.equal(containers.get(id)?.running, true, "a refused stop leaves the container running");

  containers.get(id)!.running = false;
  containers.get(id)!.exitCode = 3;
  t.same(await spawner.poll(own), { running: false, exitCode: 3 }, "an exited container's code");
  t.same(await spawner.stop({ ...own, timeoutSeconds: 1 }), { removed: true });
  t.equal(containers.size, 0);
  t.same(await spawner.poll(own), { running: false }, "gone");
  t.same(
    await spawner.stop({ ...own, timeoutSeconds: 1 }),
    { removed: false },
    "stopping again is not an error",
  );
});

t.test("an unreachable engine is the driver's error", async (t) => {
  const { spawner } = spawnerFor(
    new EngineClient({ socketPath: "/nonexistent/engine.sock", apiVersion: "1.41" }),
  );
  await t.rejects(spawner.start(START), {
    code: "ENGINE_UNREACHABLE",
    message: /cannot reach the container engine at \/nonexistent\/engine\.sock: no such socket/,
  });
});
