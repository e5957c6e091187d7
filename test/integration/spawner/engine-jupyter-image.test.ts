import t from "tap";
import { randomUUID } from "node:crypto";
import { chownSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  createContainer,
  inspectContainer,
  publishedPort,
  removeContainer,
  startContainer,
  stopContainer,
} from "../../../src/spawner/engine/containers.js";
import { EngineClient } from "../../../src/spawner/engine/engine-client.js";
import { jupyterImage } from "../../support/container-images.js";
import { openKernelThrough } from "../../support/jupyter-server.js";
import { startPodmanService } from "../../support/podman.js";
import { tempDir } from "../../support/temp-dir.js";
import { waitUntil } from "../../support/wait.js";

const image = await jupyterImage();
t.comment(
  image.buildMs === undefined ? `${image.name} from the cache` : `${image.name} built in ${image.buildMs} ms`,
);
const podman = await startPodmanService(t, { imageStores: [image.store] });
const client = new EngineClient({ socketPath: podman.socketPath });
t.teardown(() => client.close());

// The user as the spawner plans it: a uid/gid without an account in the image, the home bound from the host.
const UID = 30076;
const GID = 30000;
const HOME = "/home/others/student1";

function hostHome(t: Parameters<typeof tempDir>[0]): string {
  const dir = tempDir(t, "ltictr-home-");
  chownSync(dir, UID, GID);
  return dir;
}

t.test("start-notebook.sh runs JupyterHub's single-user server as the planned user", async (t) => {
  const { id } = await createContainer(client, "singleuser-version", {
    Image: image.name,
    User: `${UID}:${GID}`,
    Cmd: ["start-notebook.sh", "--version"],
    Env: [`USER_HOME=${HOME}`],
    HostConfig: { NetworkMode: "none", Binds: [`${hostHome(t)}:${HOME}:rw`] },
  });
  t.teardown(() => removeContainer(client, id, { force: true }));
  await startContainer(client, id);
  await waitUntil(
    async () => (await inspectContainer(client, id)).status === "exited",
    "jupyterhub-singleuser --version",
    60000,
  );
  t.equal((await inspectContainer(client, id)).exitCode, 0);
  t.equal((await podman.podman(["logs", id])).trim(), "3.0.0", "JupyterHub 3.0.0's single-user server");
});

t.test("Jupyter server and ipykernel in the container execute real cells", async (t) => {
  const home = hostHome(t);
  const token = randomUUID().replace(/-/g, "");
  const { id } = await createContainer(client, "jupyterhub-219-12-el.example.org-Xy12Ab34-student1", {
    Image: image.name,
    User: `${UID}:${GID}`,
    Cmd: [
      "python3",
      "-m",
      "jupyter_server",
      "--no-browser",
      "--ServerApp.ip=0.0.0.0",
      "--ServerApp.port=8888",
      "--ServerApp.port_retries=0",
      `--ServerApp.token=${token}`,
      `--ServerApp.root_dir=${HOME}`,
    ],
    Env: [
      `HOME=${HOME}`,
      `JUPYTER_RUNTIME_DIR=${HOME}/.local/share/jupyter/runtime`,
      `JUPYTER_DATA_DIR=${HOME}/.local/share/jupyter`,
      "MEM_LIMIT=1073741824",
    ],
    ExposedPorts: { "8888/tcp": {} },
    HostConfig: {
      Memory: 1073741824,
      CpuPeriod: 100000,
      CpuQuota: 100000,
      Binds: [`${home}:${HOME}:rw`],
      PortBindings: { "8888/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }] },
      NetworkMode: "slirp4netns:allow_host_loopback=true",
    },
  });
  t.teardown(() => removeContainer(client, id, { force: true }));
  await startContainer(client, id);
  const port = publishedPort(await inspectContainer(client, id));
  const baseUrl = `http://127.0.0.1:${port?.hostPort}`;
  await waitUntil(
    async () => (await fetch(`${baseUrl}/api/status?token=${token}`).catch(() => undefined))?.ok === true,
    "the Jupyter server in the container",
    60000,
    200,
  );

  const kernel = await openKernelThrough(baseUrl, token);
  t.teardown(() => kernel.close());
  const result = await kernel.execute(
    [
      "import os, pathlib",
      "(pathlib.Path.home() / 'from-the-kernel.txt').write_text('written in the container')",
      "print(6 * 7, os.getuid(), os.getgid(), pathlib.Path.home())",
    ].join("\n"),
    { timeoutMs: 60000 },
  );
  t.equal(result.status, "ok");
  t.same(result.outputs, [
    { type: "stream", content: { name: "stdout", text: `42 ${UID} ${GID} ${HOME}\n` } },
  ]);
  t.equal(
    readFileSync(join(home, "from-the-kernel.txt"), "utf8"),
    "written in the container",
    "in the bound home",
  );
  const failing = await kernel.execute("1 / 0");
  t.equal(failing.status, "error");
  t.match(failing.outputs, [{ type: "error", content: { ename: "ZeroDivisionError" } }]);

  await kernel.close();
  await stopContainer(client, id, 10);
  t.match(await inspectContainer(client, id), { status: "exited" });
});
