import t from "tap";
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EngineClient } from "../../../src/spawner/engine/engine-client.js";
import { listImages } from "../../../src/spawner/engine/images.js";
import { busyboxImage } from "../../support/container-images.js";
import { startPodmanService } from "../../support/podman.js";
import { tempDir } from "../../support/temp-dir.js";

const image = await busyboxImage();
const podman = await startPodmanService(t, { imageStores: [image.store] });
const client = new EngineClient({ socketPath: podman.socketPath });
t.teardown(() => client.close());

// More images, as an operator's engine holds them: each a one-file image imported into the service's storage.
// (Tagging the BusyBox image instead does not work: Podman 4.3 keeps one extra tag per image of a read-only store.)
const imageDir = tempDir(t, "ltictr-images-");
for (const name of [
  "localhost/jupyterhub-singleuser:3.0",
  "ghcr.io/jupyter-fumihax/jupyterhub-ltictr.singleuser:latest",
  "localhost/postgres:16",
]) {
  const rootfs = join(imageDir, name.replace(/[/:]/g, "_"));
  mkdirSync(rootfs);
  writeFileSync(join(rootfs, "name"), name);
  execFileSync("tar", ["-C", rootfs, "-cf", `${rootfs}.tar`, "."]);
  await podman.podman(["import", `${rootfs}.tar`, name]);
}

t.test("all images, one entry per tag, sorted by name", async (t) => {
  const images = await listImages(client);
  t.same(
    images.map((i) => i.name),
    [
      "ghcr.io/jupyter-fumihax/jupyterhub-ltictr.singleuser:latest",
      "localhost/jupyterhub-singleuser:3.0",
      image.name,
      "localhost/postgres:16",
    ],
  );
  const busybox = images.find((i) => i.name === image.name);
  t.match(busybox, { id: /^sha256:[0-9a-f]{64}$/, sizeBytes: Number });
  t.ok((busybox?.sizeBytes ?? 0) > 1_000_000, "BusyBox's size");
  t.ok((busybox?.created ?? 0) > 1_600_000_000, "creation time in seconds");
});

t.test("mod_lticontainer's filter: substrings, exclusions, '*'", async (t) => {
  const names = async (filter: string) => (await listImages(client, filter)).map((i) => i.name);
  t.same(await names("jupyterhub"), [
    "ghcr.io/jupyter-fumihax/jupyterhub-ltictr.singleuser:latest",
    "localhost/jupyterhub-singleuser:3.0",
  ]);
  t.same(await names("jupyterhub,-ghcr.io"), ["localhost/jupyterhub-singleuser:3.0"]);
  t.same(await names("localhost -jupyterhub -ltictr-test"), ["localhost/postgres:16"]);
  t.same(await names("jupyterhub.singleuser"), [], "'.' is no wildcard");
  t.same(await names("*"), await names(""));
  t.equal((await names("*")).length, 4);
  t.same(await names("-*"), []);
});
