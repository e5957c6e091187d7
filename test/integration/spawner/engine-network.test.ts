import t from "tap";
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import {
  createContainer,
  inspectContainer,
  publishedPort,
  removeContainer,
  startContainer,
} from "../../../src/spawner/engine/containers.js";
import { EngineClient } from "../../../src/spawner/engine/engine-client.js";
import { busyboxImage } from "../../support/container-images.js";
import { startPodmanService } from "../../support/podman.js";
import { waitUntil } from "../../support/wait.js";

/**
 * How a single-user container and the host talk, with every host server on the loopback address only:
 * - host → container: the notebook port published on 127.0.0.1 (`HostIp: "127.0.0.1"`, the engine picks the
 *   port);
 * - container → host (JupyterHub's API): Podman's `slirp4netns:allow_host_loopback=true` network mode, in which
 *   the address 10.0.2.2 inside the container is the host's 127.0.0.1; without the option it is refused.
 */

const image = await busyboxImage();
const podman = await startPodmanService(t, { imageStores: [image.store] });
const client = new EngineClient({ socketPath: podman.socketPath });
t.teardown(() => client.close());

// a stand-in for JupyterHub's API, on the host's loopback address only
const requests: string[] = [];
const hub = createServer((req, res) => {
  requests.push(req.url ?? "");
  res.end("hub answers\n");
});
hub.listen(0, "127.0.0.1");
await once(hub, "listening");
t.teardown(() => new Promise<void>((resolve) => hub.close(() => resolve())));
const hubPort = (hub.address() as AddressInfo).port;

/** Runs `wget` of the hub stand-in in a container of `networkMode`; resolves with the container's exit code. */
async function callHubFrom(networkMode: string, path: string): Promise<number> {
  const { id } = await createContainer(client, `hub-call${path.replace(/\//g, "-")}`, {
    Image: image.name,
    Cmd: ["wget", "-q", "-O", "/dev/null", `http://10.0.2.2:${hubPort}${path}`],
    HostConfig: { NetworkMode: networkMode },
  });
  t.teardown(() => removeContainer(client, id, { force: true }));
  await startContainer(client, id);
  let exitCode = -1;
  await waitUntil(async () => {
    const details = await inspectContainer(client, id);
    exitCode = details.exitCode;
    return details.status === "exited";
  }, `the container calling ${path}`);
  return exitCode;
}

t.test(
  "a container reaches a server on the host's 127.0.0.1 as 10.0.2.2 with allow_host_loopback",
  async (t) => {
    t.equal(await callHubFrom("slirp4netns:allow_host_loopback=true", "/hub/api/allowed"), 0);
    t.same(requests, ["/hub/api/allowed"]);
  },
);

t.test("without allow_host_loopback the host's loopback stays out of reach", async (t) => {
  t.not(await callHubFrom("slirp4netns", "/hub/api/refused"), 0, "wget fails");
  t.notOk(requests.includes("/hub/api/refused"));
});

t.test("the notebook port is published on 127.0.0.1 only, and reachable there", async (t) => {
  const { id } = await createContainer(client, "published", {
    Image: image.name,
    Cmd: [
      "sh",
      "-c",
      "trap 'exit 0' TERM; mkdir /srv; echo notebook > /srv/index.html; httpd -p 8888 -h /srv; while :; do sleep 1 & wait; done",
    ],
    ExposedPorts: { "8888/tcp": {} },
    HostConfig: {
      NetworkMode: "slirp4netns:allow_host_loopback=true",
      PortBindings: { "8888/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }] },
    },
  });
  t.teardown(() => removeContainer(client, id, { force: true }));
  await startContainer(client, id);
  const port = publishedPort(await inspectContainer(client, id));
  t.equal(port?.hostIp, "127.0.0.1");
  const hostPort = port?.hostPort ?? 0;
  await waitUntil(
    async () => (await fetch(`http://127.0.0.1:${hostPort}/index.html`).catch(() => undefined))?.ok === true,
    "the published port",
  );
  t.equal(await (await fetch(`http://127.0.0.1:${hostPort}/index.html`)).text(), "notebook\n");
  t.same(
    listeningAddresses(hostPort),
    ["127.0.0.1"],
    "the host listens on the loopback address only, not on all addresses",
  );
});

/** The local addresses of the host's listening TCP sockets on `port` (/proc/net/tcp and tcp6). */
function listeningAddresses(port: number): string[] {
  const LISTEN = "0A";
  const found: string[] = [];
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of readFileSync(file, "utf8").split("\n").slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (!local || state !== LISTEN) continue;
      const [address = "", hexPort = ""] = local.split(":");
      if (parseInt(hexPort, 16) !== port) continue;
      found.push(address.length === 8 ? ipv4(address) : `ipv6:${address}`);
    }
  }
  return found;
}

/** /proc/net/tcp's little-endian hex IPv4 address in dotted form. */
function ipv4(hex: string): string {
  return [3, 2, 1, 0].map((i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join(".");
}
