import t from "tap";
import { chmodSync, mkdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureHostDirectories } from "../../../src/spawner/service/host-directories.js";
import { tempDir } from "../../support/temp-dir.js";

// This process's own ids: chown to them works for any user running the tests.
const uid = process.getuid!();
const gid = process.getgid!();

function plan(base: string) {
  const group = join(base, "others");
  const home = join(group, "alice");
  return [
    { path: group, uid, gid, mode: 0o755 },
    { path: home, uid, gid, mode: 0o700 },
    { path: join(home, "jupyter"), uid, gid, mode: 0o700 },
    { path: join(home, "jupyter", "works"), uid, gid, mode: 0o700 },
  ];
}

t.test("missing folders are created in order with their owner and mode, whatever the umask", async (t) => {
  const base = tempDir(t);
  const directories = plan(base);
  const umask = process.umask(0o077);
  try {
    await ensureHostDirectories(directories);
  } finally {
    process.umask(umask);
  }
  for (const { path, mode } of directories) {
    const stats = statSync(path);
    t.same([stats.isDirectory(), stats.uid, stats.gid, stats.mode & 0o777], [true, uid, gid, mode], path);
  }
});

t.test("existing folders are left as they are", async (t) => {
  const base = tempDir(t);
  const directories = plan(base);
  mkdirSync(directories[1]!.path, { recursive: true, mode: 0o750 });
  chmodSync(directories[1]!.path, 0o750);
  await ensureHostDirectories(directories);
  t.equal(statSync(directories[1]!.path).mode & 0o777, 0o750, "the home keeps its mode");
  t.ok(statSync(directories[3]!.path).isDirectory(), "the missing ones below it were created");
});

t.test("the folder above the first must exist: nothing else is created", async (t) => {
  const base = join(tempDir(t), "missing");
  await t.rejects(ensureHostDirectories(plan(base)), {
    code: "HOST_DIRECTORY_FAILED",
    message: new RegExp(`^cannot create ${base}/others: its folder ${base} is not usable`),
  });
});

t.test("a link the user made in their home is not followed", async (t) => {
  const base = tempDir(t);
  const directories = plan(base);
  const elsewhere = join(base, "elsewhere");
  mkdirSync(elsewhere);
  mkdirSync(directories[1]!.path, { recursive: true });
  // The home is the user's: writable by them, so not a folder only root can change.
  chmodSync(directories[1]!.path, 0o777);
  symlinkSync(elsewhere, directories[2]!.path);
  await t.rejects(ensureHostDirectories(directories), {
    code: "HOST_DIRECTORY_FAILED",
    message: `${directories[2]!.path} is a symbolic link in a folder that users other than root can change: it is not followed`,
  });
  t.throws(() => statSync(join(elsewhere, "works")), { code: "ENOENT" }, "nothing was created through it");
});

t.test("a link in a folder only root can change is the operator's: followed", async (t) => {
  const base = tempDir(t);
  const directories = plan(base);
  const real = join(base, "real-others");
  mkdirSync(real);
  symlinkSync(real, directories[0]!.path);
  chmodSync(base, 0o755);
  const onlyRoot = uid === 0;
  if (onlyRoot) {
    await ensureHostDirectories(directories);
    t.ok(statSync(join(real, "alice", "jupyter", "works")).isDirectory(), "created through the link");
  } else {
    // Run by another user, the temp folder is that user's, so the link is refused.
    await t.rejects(ensureHostDirectories(directories), { code: "HOST_DIRECTORY_FAILED" });
  }
});

t.test("a file where a folder belongs is refused", async (t) => {
  const base = tempDir(t);
  const directories = plan(base);
  mkdirSync(directories[0]!.path);
  writeFileSync(directories[1]!.path, "");
  await t.rejects(ensureHostDirectories(directories), {
    code: "HOST_DIRECTORY_FAILED",
    message: `${directories[1]!.path} exists and is not a folder`,
  });
});
