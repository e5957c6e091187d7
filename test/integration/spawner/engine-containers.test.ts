import t from "tap";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ContainerCreateBody } from "../../../src/spawner/container-create.js";
import {
  createContainer,
  inspectContainer,
  publishedPort,
  removeContainer,
  startContainer,
  stopContainer,
} from "../../../src/spawner/engine/containers.js";
import { createCourseVolume, listCourseVolumes } from "../../../src/spawner/engine/course-volumes.js";
import { EngineClient } from "../../../src/spawner/engine/engine-client.js";
import { busyboxImage } from "../../support/container-images.js";
import { processesMentioning, startPodmanService } from "../../support/podman.js";
import { tempDir } from "../../support/temp-dir.js";
import { waitUntil } from "../../support/wait.js";

const image = await busyboxImage();
const podman = await startPodmanService(t, { imageStores: [image.store] });
const client = new EngineClient({ socketPath: podman.socketPath });
t.teardown(() => client.close());

const TASK_VOLUME = "lms_vol_rsa_219_el.example.org";
const SUBMIT_VOLUME = "lms_sub_rep_219_el.example.org";
const MEMORY = 256 * 1024 * 1024;

/**
 * A notebook stand-in: BusyBox's httpd on port 8888 serving a copy of the bound host folder plus the cgroup
 * limits the kernel applies to it; it writes its GREETING into the task volume and stops on SIGTERM.
 */
const NOTEBOOK_STAND_IN = [
  "trap 'exit 0' TERM",
  "mkdir -p /srv && cp /www/index.html /srv/",
  "cat /sys/fs/cgroup/memory/memory.limit_in_bytes > /srv/memory-limit",
  "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us > /srv/cpu-quota",
  "cat /sys/fs/cgroup/cpu/cpu.cfs_period_us > /srv/cpu-period",
  'echo "$GREETING" > /home/student1/works/.volumes/task/greeting',
  "httpd -p 8888 -h /srv",
  "while :; do sleep 1 & wait; done",
].join("\n");

function notebookBody(hostDir: string): ContainerCreateBody {
  return {
    Image: image.name,
    Cmd: ["sh", "-c", NOTEBOOK_STAND_IN],
    Env: ["GREETING=hello from student1", "NB_USER=student1", "JUPYTERHUB_API_TOKEN=not-a-real-token"],
    ExposedPorts: { "8888/tcp": {} },
    HostConfig: {
      Memory: MEMORY,
      CpuPeriod: 100000,
      CpuQuota: 50000,
      Binds: [
        `${hostDir}:/www:ro`,
        `${TASK_VOLUME}:/home/student1/works/.volumes/task:rw`,
        `${SUBMIT_VOLUME}:/home/student1/works/.volumes/submit:rw`,
      ],
      PortBindings: { "8888/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }] },
      NetworkMode: "slirp4netns",
    },
  };
}

t.test(
  "a container from a create body: created, started, inspected, reached, stopped, removed",
  async (t) => {
    const hostDir = tempDir(t, "ltictr-www-");
    writeFileSync(join(hostDir, "index.html"), "served from a host folder\n");
    // the task volume exists beforehand (Moodle made it); the engine creates the submit volume for the bind
    await createCourseVolume(client, TASK_VOLUME);

    const created = await createContainer(
      client,
      "jupyterhub-219-12-el.example.org-Ab3dE6gH-student1",
      notebookBody(hostDir),
    );
    t.match(created.id, /^[0-9a-f]{64}$/);
    const beforeStart = await inspectContainer(client, created.id);
    t.match(beforeStart, { status: "created", running: false });

    await startContainer(client, created.id);
    await startContainer(client, created.id); // already running: no error
    const details = await inspectContainer(client, "jupyterhub-219-12-el.example.org-Ab3dE6gH-student1");
    t.match(details, {
      id: created.id,
      name: "jupyterhub-219-12-el.example.org-Ab3dE6gH-student1",
      image: image.name,
      status: "running",
      running: true,
      memory: MEMORY,
      cpuPeriod: 100000,
      cpuQuota: 50000,
      networkMode: "slirp4netns",
    });
    for (const entry of [
      "GREETING=hello from student1",
      "NB_USER=student1",
      "JUPYTERHUB_API_TOKEN=not-a-real-token",
    ]) {
      t.ok(details.env.includes(entry), `environment has ${entry.split("=")[0]}`);
    }
    const bindPrefixes = details.binds.map((b) => b.split(":").slice(0, 2).join(":")).sort();
    t.same(bindPrefixes, [
      `${hostDir}:/www`,
      `${SUBMIT_VOLUME}:/home/student1/works/.volumes/submit`,
      `${TASK_VOLUME}:/home/student1/works/.volumes/task`,
    ]);
    t.match(
      details.binds.find((b) => b.startsWith(hostDir)),
      /:ro(,|$)/,
      "the host folder is read-only",
    );
    const port = publishedPort(details);
    t.equal(port?.hostIp, "127.0.0.1", "published on the loopback address only");
    t.ok((port?.hostPort ?? 0) > 0, "the engine chose a host port");

    const base = `http://127.0.0.1:${port?.hostPort}`;
    const get = async (path: string) => {
      const response = await fetch(base + path);
      return response.ok ? response.text() : `${response.status}`;
    };
    await waitUntil(
      async () => (await get("/index.html").catch(() => "")) === "served from a host folder\n",
      "the container's web server",
    );
    t.equal(await get("/memory-limit"), `${MEMORY}\n`, "the kernel limits the container's memory as planned");
    t.equal(await get("/cpu-quota"), "50000\n", "and its CPU time: half a CPU");
    t.equal(await get("/cpu-period"), "100000\n");

    await stopContainer(client, created.id, 5);
    t.match(
      await inspectContainer(client, created.id),
      { status: "exited", running: false, exitCode: 0 },
      "stopped by SIGTERM",
    );
    await stopContainer(client, created.id); // already stopped: no error
    t.equal(await removeContainer(client, created.id), true);
    t.equal(await removeContainer(client, created.id), false, "a second removal finds nothing");
    await t.rejects(inspectContainer(client, created.id), { code: "CONTAINER_NOT_FOUND" });

    const kept = await listCourseVolumes(client, { course: "219", host: "el.example.org" });
    t.same(
      kept.map((v) => v.name),
      [SUBMIT_VOLUME, TASK_VOLUME],
      "named course volumes outlive the container",
    );
    const task = await client.request({ method: "GET", path: `/volumes/${TASK_VOLUME}` });
    const mountpoint = (task.body as { Mountpoint: string }).Mountpoint;
    t.equal(
      readFileSync(join(mountpoint, "greeting"), "utf8"),
      "hello from student1\n",
      "with what the container wrote",
    );
  },
);

t.test("a second container of the same name is a name conflict", async (t) => {
  const hostDir = tempDir(t, "ltictr-www-");
  writeFileSync(join(hostDir, "index.html"), "x\n");
  const first = await createContainer(client, "same-name", notebookBody(hostDir));
  t.teardown(() => removeContainer(client, first.id, { force: true }));
  await t.rejects(createContainer(client, "same-name", notebookBody(hostDir)), {
    name: "NameConflictError",
    code: "NAME_CONFLICT",
    message: 'a container named "same-name" already exists on the container engine',
  });
});

t.test("an image that is not on the engine is reported as such (never pulled)", async (t) => {
  await t.rejects(
    createContainer(client, "no-image", {
      Image: "localhost/jupyterhub-missing:1",
      HostConfig: { NetworkMode: "none" },
    }),
    {
      name: "ImageNotFoundError",
      code: "IMAGE_NOT_FOUND",
      message:
        'image "localhost/jupyterhub-missing:1" is not on the container engine (images are never pulled: pull or build it on the engine\'s host first)',
    },
  );
  t.notOk(
    (await podman.podman(["images", "--format", "{{.Repository}}"])).includes("jupyterhub-missing"),
    "nothing was pulled",
  );
});

t.test("an engine that is not running is unreachable, whatever the call", async (t) => {
  const socketPath = join(tempDir(t, "ltictr-no-engine-"), "podman.sock");
  const down = new EngineClient({ socketPath });
  t.teardown(() => down.close());
  const unreachable = {
    name: "EngineUnreachableError",
    code: "ENGINE_UNREACHABLE",
    message: `cannot reach the container engine at ${socketPath}: no such socket (is Docker running, or \`podman system service\`?)`,
  };
  await t.rejects(createContainer(down, "c1", { Image: image.name }), unreachable);
  await t.rejects(startContainer(down, "c1"), unreachable);
  await t.rejects(listCourseVolumes(down, { course: "1", host: "h" }), unreachable);
});

t.test("stopping the test's Podman leaves no container, process or file behind", async (t) => {
  const other = await startPodmanService(t, { imageStores: [image.store] });
  const otherClient = new EngineClient({ socketPath: other.socketPath });
  t.teardown(() => otherClient.close());
  const { id } = await createContainer(otherClient, "left-running", {
    Image: image.name,
    Cmd: ["sleep", "600"],
    HostConfig: { NetworkMode: "slirp4netns" },
  });
  await startContainer(otherClient, id);
  t.ok(processesMentioning(other.root).size > 0, "the running container's conmon names the Podman's folder");
  await other.stop();
  t.same([...processesMentioning(other.root).values()], [], "no process of it is left");
  t.notOk(existsSync(other.root), "its folder is gone");
});
