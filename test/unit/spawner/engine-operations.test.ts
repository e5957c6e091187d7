import t, { type Test } from "tap";
import { EngineClient } from "../../../src/spawner/engine/engine-client.js";
import {
  createContainer,
  inspectContainer,
  listContainers,
  publishedPort,
  removeContainer,
  startContainer,
  stopContainer,
} from "../../../src/spawner/engine/containers.js";
import {
  createCourseVolume,
  listCourseVolumes,
  removeCourseVolume,
} from "../../../src/spawner/engine/course-volumes.js";
import { imageExists, listImages } from "../../../src/spawner/engine/images.js";
import { startFakeEngine, type FakeAnswer, type ReceivedRequest } from "../../support/fake-engine.js";

/** A client of a fake engine (API version fixed, so every request is the operation's own). */
async function fakeEngine(
  t: Test,
  handler: (request: ReceivedRequest) => FakeAnswer | undefined = () => undefined,
) {
  const engine = await startFakeEngine(t, handler);
  const client = new EngineClient({ socketPath: engine.socketPath, apiVersion: "1.41" });
  t.teardown(() => client.close());
  return { engine, client };
}

t.test("invalid names are refused before any call to the engine", async (t) => {
  const { engine, client } = await fakeEngine(t);
  const refusals: [string, () => Promise<unknown>][] = [
    ["create volume", () => createCourseVolume(client, "lms_vol_a_1_../../etc")],
    ["remove volume", () => removeCourseVolume(client, "lms_vol_a_1_h/x")],
    ["remove other volume", () => removeCourseVolume(client, "postgres-data")],
    ["list bad course", () => listCourseVolumes(client, { course: "{1}", host: "h" })],
    ["list bad host", () => listCourseVolumes(client, { course: "1", host: "::1" })],
    ["create container", () => createContainer(client, "jupyterhub-5-2-::1-ab-user", { Image: "x" })],
    ["start", () => startContainer(client, "../../images/x")],
    ["inspect", () => inspectContainer(client, "a b")],
    ["stop", () => stopContainer(client, "x/../y")],
    ["remove container", () => removeContainer(client, "")],
  ];
  for (const [what, call] of refusals)
    await t.rejects(call(), { name: "InvalidNameError", code: "INVALID_NAME" }, what);
  t.equal(engine.connections, 0, "not even a connection was opened");
});

t.test(
  "container creation: name in the query, body as given; engine refusals become clear errors",
  async (t) => {
    const { engine, client } = await fakeEngine(t, (request) => {
      const name = new URL(request.url, "http://x").searchParams.get("name");
      if (name === "ok")
        return { status: 201, body: { Id: "f00d", Warnings: ["memory swappiness ignored"] } };
      if (name === "no-image") return { status: 404, body: { message: "No such image: jupyter/x:1" } };
      if (name === "docker-taken")
        return {
          status: 409,
          body: { message: 'Conflict. The container name "/docker-taken" is already in use' },
        };
      if (name === "podman-taken")
        return {
          status: 500,
          body: {
            message:
              'creating container storage: the container name "podman-taken" is already in use by f00d. You have to remove that container to be able to reuse that name: that name is already in use',
          },
        };
      return { status: 500, body: { message: "runc: invalid\nmemory   limit" } };
    });
    const body = { Image: "jupyter/x:1", Env: ["A=1"], HostConfig: { Memory: 1024 } };
    t.same(await createContainer(client, "ok", body), {
      id: "f00d",
      warnings: ["memory swappiness ignored"],
    });
    t.same(engine.requests[0], {
      method: "POST",
      url: "/v1.41/containers/create?name=ok",
      body: JSON.stringify(body),
    });
    await t.rejects(createContainer(client, "no-image", body), {
      name: "ImageNotFoundError",
      code: "IMAGE_NOT_FOUND",
      message:
        'image "jupyter/x:1" is not on the container engine (images are never pulled: pull or build it on the engine\'s host first)',
    });
    await t.rejects(createContainer(client, "docker-taken", body), {
      code: "NAME_CONFLICT",
      status: 409,
      message: 'a container named "docker-taken" already exists on the container engine',
    });
    await t.rejects(createContainer(client, "podman-taken", body), { code: "NAME_CONFLICT", status: 500 });
    await t.rejects(createContainer(client, "other", body), {
      code: "ENGINE_ERROR",
      message: 'the container engine refused to create container "other": 500 runc: invalid memory limit',
    });
  },
);

t.test("start, stop and remove: idempotent where the engine says it is already done", async (t) => {
  const { engine, client } = await fakeEngine(t, (request) => {
    if (request.url.includes("/gone")) return { status: 404, body: { message: "no such container" } };
    if (request.url.includes("/done")) return { status: 304 };
    if (request.url.includes("/running") && request.method === "DELETE")
      return { status: 409, body: { message: "You cannot remove a running container" } };
    if (request.url.includes("/removing"))
      return { status: 409, body: { message: "removal of container removing is already in progress" } };
    return { status: 204 };
  });
  await startContainer(client, "c1");
  await startContainer(client, "done");
  await stopContainer(client, "c1", 7);
  await stopContainer(client, "done");
  t.equal(await removeContainer(client, "c1"), true);
  t.equal(await removeContainer(client, "c1", { force: true }), true);
  t.equal(await removeContainer(client, "gone"), false, "already removed (AutoRemove)");
  t.equal(await removeContainer(client, "removing"), true, "Docker's AutoRemove under way");
  await t.rejects(removeContainer(client, "running"), {
    code: "ENGINE_ERROR",
    message: /remove container "running": 409 You cannot remove a running container/,
  });
  await t.rejects(startContainer(client, "gone"), {
    name: "ContainerNotFoundError",
    code: "CONTAINER_NOT_FOUND",
  });
  await t.rejects(stopContainer(client, "gone"), { code: "CONTAINER_NOT_FOUND" });
  await t.rejects(inspectContainer(client, "gone"), { code: "CONTAINER_NOT_FOUND" });
  t.same(
    engine.requests.slice(0, 6).map((r) => `${r.method} ${r.url}`),
    [
      "POST /v1.41/containers/c1/start",
      "POST /v1.41/containers/done/start",
      "POST /v1.41/containers/c1/stop?t=7",
      "POST /v1.41/containers/done/stop?t=10",
      "DELETE /v1.41/containers/c1?v=true&force=false",
      "DELETE /v1.41/containers/c1?v=true&force=true",
    ],
    "remove keeps named volumes (v removes anonymous ones only)",
  );
});

t.test("inspect: state, limits, environment, binds, address and published port", async (t) => {
  const { client } = await fakeEngine(t, () => ({
    status: 200,
    body: {
      Id: "f00d",
      Name: "/jupyterhub-219-12-h-abc-u",
      Config: {
        Image: "img:1",
        Env: ["A=1"],
        User: "30005:30000",
        Labels: { "ltictr-proxy.user": "u", odd: 3 },
      },
      State: { Status: "running", Running: true, ExitCode: 0 },
      HostConfig: {
        Binds: ["v:/w:rw"],
        Memory: 2147483648,
        CpuPeriod: 100000,
        CpuQuota: 200000,
        NetworkMode: "bridge",
      },
      NetworkSettings: {
        IPAddress: "",
        Networks: { bridge: { IPAddress: "172.17.0.3" } },
        Ports: { "8888/tcp": [{ HostIp: "127.0.0.1", HostPort: "49153" }], "9000/tcp": null },
      },
    },
  }));
  const details = await inspectContainer(client, "f00d");
  t.same(details, {
    id: "f00d",
    name: "jupyterhub-219-12-h-abc-u",
    image: "img:1",
    status: "running",
    running: true,
    exitCode: 0,
    env: ["A=1"],
    user: "30005:30000",
    labels: { "ltictr-proxy.user": "u" },
    binds: ["v:/w:rw"],
    memory: 2147483648,
    cpuPeriod: 100000,
    cpuQuota: 200000,
    networkMode: "bridge",
    ipAddress: "172.17.0.3",
    ports: { "8888/tcp": [{ hostIp: "127.0.0.1", hostPort: 49153 }], "9000/tcp": [] },
  });
  t.same(publishedPort(details), { hostIp: "127.0.0.1", hostPort: 49153 });
  t.equal(publishedPort(details, "9000/tcp"), undefined);
});

t.test(
  "inspect: Podman's 'stopped' is Docker's 'exited'; a container without network has no address",
  async (t) => {
    const { client } = await fakeEngine(t, () => ({
      status: 200,
      body: {
        Id: "f00d",
        State: { Status: "stopped", Running: false, ExitCode: 3 },
        NetworkSettings: { IPAddress: "", Ports: {} },
      },
    }));
    t.match(await inspectContainer(client, "f00d"), {
      status: "exited",
      running: false,
      exitCode: 3,
      ipAddress: undefined,
      ports: {},
    });
  },
);

t.test("images: one entry per tag, untagged by short ID, sorted, filtered", async (t) => {
  const { client } = await fakeEngine(t, () => ({
    status: 200,
    body: [
      {
        Id: "sha256:aaaaaaaaaaaa1111",
        RepoTags: ["jupyterhub/singleuser:4", "jupyterhub/singleuser:latest"],
        Created: 10,
        Size: 5,
      },
      { Id: "sha256:bbbbbbbbbbbb2222", RepoTags: ["<none>:<none>"], Created: 20, Size: 6 },
      { Id: "sha256:cccccccccccc3333", RepoTags: null, Created: 30, Size: 7 },
      { Id: "sha256:dddddddddddd4444", RepoTags: ["postgres:16"], Created: 40, Size: 8 },
    ],
  }));
  t.same(
    (await listImages(client)).map((i) => i.name),
    [
      "bbbbbbbbbbbb",
      "cccccccccccc",
      "jupyterhub/singleuser:4",
      "jupyterhub/singleuser:latest",
      "postgres:16",
    ],
  );
  t.same(await listImages(client, "jupyterhub -latest"), [
    { name: "jupyterhub/singleuser:4", id: "sha256:aaaaaaaaaaaa1111", created: 10, sizeBytes: 5 },
  ]);
});

t.test("volumes: engine refusals become clear errors", async (t) => {
  const { client } = await fakeEngine(t, (request) => {
    if (request.url.includes("used")) return { status: 409, body: { message: "volume is being used" } };
    if (request.url.includes("gone")) return { status: 404, body: { message: "no such volume" } };
    if (request.url === "/v1.41/volumes") return { status: 500, body: { message: "database is locked" } };
    return { status: 500, body: { message: "disk full" } };
  });
  await t.rejects(removeCourseVolume(client, "lms_sub_used_1_h"), {
    name: "VolumeInUseError",
    code: "VOLUME_IN_USE",
    message: 'volume "lms_sub_used_1_h" is used by a container; remove that container first',
  });
  await t.rejects(removeCourseVolume(client, "lms_sub_gone_1_h"), {
    code: "VOLUME_NOT_FOUND",
    message: 'no volume "lms_sub_gone_1_h" on the container engine',
  });
  await t.rejects(createCourseVolume(client, "lms_vol_a_1_h"), {
    code: "ENGINE_ERROR",
    message: 'the container engine refused to create volume "lms_vol_a_1_h": 500 disk full',
  });
  await t.rejects(listCourseVolumes(client, { course: "1", host: "h" }), {
    code: "ENGINE_ERROR",
    message: "the container engine refused to list volumes: 500 database is locked",
  });
});

t.test("containers by label: all states, the filter sent and applied again", async (t) => {
  const { engine, client } = await fakeEngine(t, () => ({
    status: 200,
    body: [
      { Id: "b2", Names: ["/zeta"], State: "running", Labels: { user: "alice", server: "" } },
      { Id: "a1", Names: ["/alpha"], State: "stopped", Labels: { user: "alice", server: "" } },
      // an engine that ignored the filter would list this one too
      { Id: "c3", Names: ["/other"], State: "running", Labels: { user: "bob", server: "" } },
    ],
  }));
  t.same(await listContainers(client, { user: "alice", server: "" }), [
    { id: "a1", name: "alpha", status: "exited", labels: { user: "alice", server: "" } },
    { id: "b2", name: "zeta", status: "running", labels: { user: "alice", server: "" } },
  ]);
  const query = new URL(engine.requests[0]!.url, "http://x").searchParams;
  t.equal(query.get("all"), "true");
  t.same(JSON.parse(query.get("filters") ?? ""), { label: ["user=alice", "server="] });
  await listContainers(client);
  t.equal(new URL(engine.requests[1]!.url, "http://x").searchParams.get("filters"), null, "no filter");
});

t.test("image presence: the reference in the path as the engines read it, checked first", async (t) => {
  const { engine, client } = await fakeEngine(t, (request) => {
    if (request.url.includes("there")) return { status: 200, body: { Id: "sha256:1" } };
    if (request.url.includes("broken")) return { status: 500, body: { message: "storage corrupt" } };
    return { status: 404, body: { message: "no such image" } };
  });
  t.equal(await imageExists(client, "localhost/there:1"), true);
  t.equal(await imageExists(client, "ghcr.io/missing/image@sha256:abc"), false);
  t.same(
    engine.requests.map((request) => request.url),
    ["/v1.41/images/localhost/there:1/json", "/v1.41/images/ghcr.io/missing/image@sha256:abc/json"],
  );
  await t.rejects(imageExists(client, "broken:1"), {
    code: "ENGINE_ERROR",
    message: 'the container engine refused to inspect image "broken:1": 500 storage corrupt',
  });
  for (const reference of ["../../containers/x", "a/../b", "a?b", "a b", ""]) {
    await t.rejects(imageExists(client, reference), { code: "INVALID_NAME" }, reference);
  }
  t.equal(engine.requests.length, 3, "refused references never reach the engine");
});
