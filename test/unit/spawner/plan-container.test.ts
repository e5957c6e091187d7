import t from "tap";
import { MemoryAccounts } from "../../../src/spawner/host/account-resolver.js";
import { planContainer } from "../../../src/spawner/plan/plan-container.js";
import { DEFAULT_SPAWNER_POLICY } from "../../../src/spawner/policy/spawner-policy.js";
import { HOST, SUFFIX, envOf, launch, plan } from "../../support/spawner-launch.js";

t.test("the container's user, privileges and network follow the policy", async (t) => {
  const strict = plan("student1", launch());
  t.equal(strict.create.User, "30076:30000", "not root by default");
  t.equal(strict.create.HostConfig.Privileged, false, "not privileged by default");
  t.strictSame(strict.create.HostConfig.PortBindings, {
    "8888/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }],
  });
  t.strictSame(strict.create.ExposedPorts, { "8888/tcp": {} });
  t.equal(strict.create.HostConfig.NetworkMode, "bridge");
  t.equal(strict.create.HostConfig.AutoRemove, true);

  const custom = plan("student1", launch(), {
    policy: { runAsRoot: true, privileged: true, notebookPort: 9999, networkMode: "jupyterhub-net" },
  });
  t.equal(custom.create.User, "root");
  t.equal(custom.create.HostConfig.Privileged, true);
  t.strictSame(custom.create.HostConfig.PortBindings, {
    "9999/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }],
  });
  t.strictSame(custom.create.ExposedPorts, { "9999/tcp": {} });
  t.equal(custom.create.HostConfig.NetworkMode, "jupyterhub-net");
});

t.test("JupyterHub's environment, command and arguments", async (t) => {
  const result = plan("student1", launch([["lms_memlimit", "0"]]), {
    hub: {
      environment: {
        JUPYTERHUB_API_TOKEN: "token",
        JUPYTERHUB_SERVICE_PREFIX: "/user/student1/",
        MEM_LIMIT: "999",
        JUPYTERHUB_DEFAULT_URL: "/hub-default",
        JUPYTERHUB_ROOT_DIR: "/elsewhere",
        JUPYTER_IMAGE_SPEC: "other",
        NB_UID: "0",
      },
      command: ["jupyterhub-singleuser"],
      args: ["--debug", '--ServerApp.tornado_settings={"x":1}'],
    },
  });
  const env = envOf(result);
  t.equal(env.JUPYTERHUB_API_TOKEN, "token");
  t.equal(env.JUPYTERHUB_SERVICE_PREFIX, "/user/student1/");
  t.equal(env.MEM_LIMIT, undefined, "the plan's limits, not JupyterHub's (no memory limit here)");
  t.equal(env.JUPYTERHUB_DEFAULT_URL, "/lab");
  t.equal(env.JUPYTERHUB_ROOT_DIR, "/home/others/student1");
  t.equal(env.JUPYTER_IMAGE_SPEC, DEFAULT_SPAWNER_POLICY.image);
  t.equal(env.NB_UID, "30076");
  t.strictSame(result.create.Cmd.slice(0, 3), [
    "jupyterhub-singleuser",
    "--debug",
    "--SingleUserNotebookApp.default_url=/lab",
  ]);
  t.equal(result.create.Cmd.filter((arg) => arg.startsWith("--ServerApp.tornado_settings")).length, 1);
});

t.test("the policy's environment and folders", async (t) => {
  const result = plan(
    "student1",
    launch([
      ["lms_users", "*"],
      ["lms_vol_x", "X"],
    ]),
    {
      policy: {
        volumesDir: "data/.vols",
        noticeDir: "/etc/notices",
        noticePollSeconds: 30,
        teacherGid: 7100,
        teacherGroup: "STAFF",
        environment: { TZ: "UTC", PIP_INDEX_URL: "https://pypi.example/simple", HOME_COPY: "{home}/copy" },
      },
      noticeFiles: true,
    },
  );
  const env = envOf(result);
  t.strictSame(
    [
      env.TZ,
      env.PIP_INDEX_URL,
      env.HOME_COPY,
      env.VOLUME_DIR,
      env.NB_THRGID,
      env.NB_THRGROUP,
      env.GRANT_SUDO,
    ],
    [
      "UTC",
      "https://pypi.example/simple",
      "/home/others/student1/copy",
      "data/.vols",
      "7100",
      "STAFF",
      undefined,
    ],
  );
  t.equal(env.NB_VOLUMES, `data/.vols/lms_vol_x_219_${HOST}:X`);
  t.strictSame(result.create.HostConfig.Binds.slice(1), [
    `lms_vol_x_219_${HOST}:/home/others/student1/jupyter/works/data/.vols/lms_vol_x_219_${HOST}:rw`,
    "/etc/notices/notice_memory.txt:/home/others/student1/jupyter/works/.notice_memory.txt:ro",
    "/etc/notices/notice_active.txt:/home/others/student1/jupyter/works/.notice_active.txt:ro",
    "/etc/notices/notice_sticky.txt:/home/others/student1/jupyter/works/.notice_sticky.txt:ro",
  ]);
  t.match(result.create.Cmd.at(-1), /"pollMs":30000/);
});

t.test("only the notice files the host has are bound", async (t) => {
  const asked: string[] = [];
  const result = planContainer({
    parameters: launch(),
    userName: "student1",
    policy: DEFAULT_SPAWNER_POLICY,
    accounts: new MemoryAccounts(),
    hostFiles: {
      isFile: (path) => {
        asked.push(path);
        return path.endsWith("notice_active.txt");
      },
    },
    now: () => 0,
    randomSuffix: () => SUFFIX,
  });
  t.strictSame(asked, [
    "/usr/local/etc/ltictr/notice_memory.txt",
    "/usr/local/etc/ltictr/notice_active.txt",
    "/usr/local/etc/ltictr/notice_sticky.txt",
  ]);
  t.strictSame(result.create.HostConfig.Binds.slice(1), [
    "/usr/local/etc/ltictr/notice_active.txt:/home/others/student1/jupyter/works/.notice_active.txt:ro",
  ]);
  t.strictSame(Object.keys(result.create.Volumes), [
    "/home/others/student1",
    "/home/others/student1/jupyter/works/.notice_active.txt",
  ]);
});

t.test("host folders to create, and the random name part", async (t) => {
  const result = plan("student1", launch());
  t.strictSame(result.hostDirectories, [
    { path: "/home/others", uid: 0, gid: 30000, mode: 0o755 },
    { path: "/home/others/student1", uid: 30076, gid: 30000, mode: 0o700 },
    { path: "/home/others/student1/jupyter", uid: 30076, gid: 30000, mode: 0o700 },
    { path: "/home/others/student1/jupyter/works", uid: 30076, gid: 30000, mode: 0o700 },
  ]);
  const random = planContainer({
    parameters: launch(),
    userName: "student1",
    policy: DEFAULT_SPAWNER_POLICY,
    accounts: new MemoryAccounts(),
    hostFiles: { isFile: () => false },
    now: Date.now,
  });
  t.match(
    random.name,
    new RegExp(`^jupyterhub-219-12-${HOST.replaceAll(".", "\\.")}-[A-Za-z0-9]{8}-student1$`),
  );
});
