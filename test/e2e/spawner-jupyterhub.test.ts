import t from "tap";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { request } from "undici";
import {
  inspectContainer,
  listContainers,
  type ContainerDetails,
} from "../../src/spawner/engine/containers.js";
import { listCourseVolumes } from "../../src/spawner/engine/course-volumes.js";
import { EngineClient } from "../../src/spawner/engine/engine-client.js";
import { USER_LABEL } from "../../src/spawner/service/server-labels.js";
import { jupyterImage } from "../support/container-images.js";
import { HubBrowser } from "../support/hub-browser.js";
import { lticontainerLaunch } from "../support/lti-launch-post.js";
import { startJupyterHub } from "../support/jupyterhub.js";
import { MoodleStandIn } from "../support/moodle-stand-in.js";
import { startPodmanService } from "../support/podman.js";
import { PROXY_BIN } from "../support/proxy-process.js";
import { tempDir } from "../support/temp-dir.js";
import { waitUntil } from "../support/wait.js";

/**
 * The spawner companion end to end, as a user runs it: the proxy binary with `--engine-socket` (a real Podman
 * service) and `--spawner-policy`, JupyterHub 3.0 with the shipped `LtictrSpawner` and an LTI 1.1 login that
 * keeps the launch in auth_state, launches posted through the proxy, single-user servers in containers reached
 * through the proxy, cells whose records reach the Moodle stand-in; then bad launches and a lost engine.
 */

const REPOSITORY = fileURLToPath(new URL("../../../", import.meta.url));
const SPAWNER_MODULE_DIR = join(REPOSITORY, "jupyterhub");
const AUTHENTICATOR_DIR = join(REPOSITORY, "test", "fixtures", "jupyterhub");

const MOODLE_TOKEN = "0123456789abcdef0123456789abcdef";
const INST_ID = 6;
const LTI_ID = 13;
const COURSE = 42;
const MOODLE_HOST = "moodle.example.org";
const TASK_VOLUME = `lms_vol_data_${COURSE}_${MOODLE_HOST}`;
const SUBMIT_VOLUME = `lms_sub_report_${COURSE}_${MOODLE_HOST}`;
/** Allowed by the policy, but not on the engine. */
const MISSING_IMAGE = "localhost/ltictr-test-missing:1";
const MEMORY = 512 * 1024 ** 2;
/** Bounds a broken spawn (a container start takes seconds here, more on a loaded machine). */
const SPAWN_WAIT_MS = 150_000;

const image = await jupyterImage();
t.comment(
  image.buildMs === undefined ? `${image.name} from the cache` : `${image.name} built in ${image.buildMs} ms`,
);
const podman = await startPodmanService(t, { imageStores: [image.store] });
const engine = new EngineClient({ socketPath: podman.socketPath });
const moodle = await MoodleStandIn.start({
  tokens: [MOODLE_TOKEN],
  pathPrefix: "/moodle",
  lti: { [LTI_ID]: COURSE },
});
const dir = tempDir(t, "ltictr-spawn-e2e-");
const homes = join(dir, "home");
mkdirSync(homes);
// The proxy is given a link to the socket: Podman's teardown ends every process that names its folder.
const engineSocket = join(dir, "engine.sock");
symlinkSync(podman.socketPath, engineSocket);
const policyFile = join(dir, "spawner-policy.json");
writeFileSync(
  policyFile,
  JSON.stringify({
    image: image.name,
    imageAllowList: [MISSING_IMAGE],
    imageFilter: null,
    cpuLimitMax: 2,
    memLimitMax: "2GiB",
    homeTemplate: `${homes}/{groupname}/{username}`,
    noticeDir: join(dir, "notices"),
    networkMode: "slirp4netns:allow_host_loopback=true",
    hubHostAlias: "10.0.2.2",
  }),
);
const hub = await startJupyterHub({
  mode: "external-proxy",
  proxyCommand: [
    process.execPath,
    PROXY_BIN,
    ...["--data-dir", join(dir, "state")],
    ...["--moodle-allow", moodle.origin],
    ...["--engine-socket", engineSocket],
    ...["--spawner-policy", policyFile],
  ],
  extraConfig: [
    "import os, sys",
    `sys.path.insert(0, ${JSON.stringify(SPAWNER_MODULE_DIR)})`,
    `sys.path.insert(0, ${JSON.stringify(AUTHENTICATOR_DIR)})`,
    `os.environ["JUPYTERHUB_CRYPT_KEY"] = ${JSON.stringify(randomBytes(32).toString("hex"))}`,
    "c.JupyterHub.authenticator_class = 'lti_test_authenticator.LaunchAuthenticator'",
    "c.Authenticator.enable_auth_state = True",
    "c.JupyterHub.spawner_class = 'ltictr_spawner.LtictrSpawner'",
    // The policy's command (the image's start-notebook.sh), not the harness's local-process command.
    "c.LtictrSpawner.cmd = None",
    "c.LtictrSpawner.args = []",
    "c.Spawner.poll_interval = 1",
    // Each container starts with a copy of the image (Podman's vfs storage): slow on a busy machine.
    "c.Spawner.start_timeout = 120",
    "c.Spawner.http_timeout = 120",
  ].join("\n"),
});
const browsers: HubBrowser[] = [];
t.teardown(async () => {
  for (const browser of browsers) await browser.close();
  await hub.stop();
  await moodle.close();
  await engine.close();
  if (!t.passing()) console.error(hub.logs().slice(-40000));
});

interface Person {
  name: string;
  userId: number;
}
const ALICE: Person = { name: "alice", userId: 76 };
const BOB: Person = { name: "bob", userId: 77 };
const TEACHER: Person = { name: "teacher1", userId: 5 };
const hubPort = new URL(hub.hubUrl).port;

/** A launch of mod_lticontainer's activity 13 in course 42, as Moodle posts it (OAuth fields unsigned). */
function launchFields(person: Person, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...lticontainerLaunch(moodle.origin, MOODLE_TOKEN, `${INST_ID},${LTI_ID}`),
    custom_lms_serverpath: "/moodle",
    oauth_timestamp: String(Math.floor(Date.now() / 1000)),
    oauth_consumer_key: "moodle",
    oauth_signature_method: "HMAC-SHA1",
    oauth_signature: "not-checked",
    lti_message_type: "basic-lti-launch-request",
    lti_version: "LTI-1p0",
    context_id: String(COURSE),
    user_id: String(person.userId),
    ext_user_username: person.name,
    roles: person === TEACHER ? "Instructor" : "Learner",
    lis_outcome_service_url: `https://${MOODLE_HOST}/mod/lti/service.php`,
    custom_lms_users: "*",
    custom_lms_teachers: TEACHER.name,
    custom_lms_vol_data: "Data",
    custom_lms_sub_report: `Report:${ALICE.name}`,
    custom_lms_memlimit: String(MEMORY),
    custom_lms_cpulimit: "0.5",
    custom_lms_course: "Course 42",
    custom_lms_ltiname: "Lab 13",
    ...extra,
  };
}

/** Posts the launch through the proxy's public port; the test authenticator logs the user in. */
async function launch(person: Person, extra: Record<string, string> = {}): Promise<HubBrowser> {
  const browser = new HubBrowser(hub.publicUrl);
  browsers.push(browser);
  const response = await browser.fetch("/hub/lti/launch", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(launchFields(person, extra)).toString(),
  });
  if (response.status !== 302)
    throw new Error(`launch of ${person.name} answered ${response.status}: ${response.body}`);
  const cookies = [response.headers["set-cookie"] ?? []].flat();
  if (!cookies.some((cookie) => cookie.startsWith("ltictr_launch="))) {
    throw new Error(`the proxy set no launch cookie for ${person.name}`);
  }
  return browser;
}

async function containersOf(user: string) {
  return listContainers(engine, { [USER_LABEL]: user });
}

async function containerOf(user: string): Promise<ContainerDetails> {
  const containers = await containersOf(user);
  if (containers.length !== 1) throw new Error(`${containers.length} containers of ${user}`);
  return inspectContainer(engine, containers[0]!.id);
}

function envOf(details: ContainerDetails): Record<string, string> {
  return Object.fromEntries(
    details.env.map((entry) => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)]),
  );
}

/** `source:target` of each bind (Podman appends its own mount options and lists them in its own order). */
function bindsOf(details: ContainerDetails): string[] {
  return details.binds.map((bind) => bind.split(":").slice(0, 2).join(":")).sort();
}

const homeOf = (user: string) => `${homes}/others/${user}`;
const volumeBind = (user: string, volume: string) =>
  `${volume}:${homeOf(user)}/jupyter/works/.volumes/${volume}`;

/** Every container and volume on the engine. */
async function engineObjects(): Promise<{ containers: string[]; volumes: string[] }> {
  const containers = (await listContainers(engine)).map((container) => container.name);
  const volumes = (await podman.podman(["volume", "ls", "--format", "{{.Name}}"]))
    .split("\n")
    .filter(Boolean);
  return { containers, volumes };
}

/** The spawner endpoint, called as the Python spawner calls it. */
async function callEndpoint(operation: string, body: unknown, token = hub.token) {
  const response = await request(`${hub.apiUrl}/api/spawner/${operation}`, {
    method: "POST",
    headers: { authorization: `token ${token}`, "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.body.text();
  return { status: response.statusCode, body: JSON.parse(text) as Record<string, unknown> };
}

/** JupyterHub's spawn progress stream, which ends with the failure the user sees. */
async function spawnFailure(browser: HubBrowser, user: string): Promise<string> {
  const started = await browser.hubApi("POST", `/users/${user}/server`);
  if (started.status < 400 && started.status !== 202 && started.status !== 201) {
    throw new Error(`starting ${user}'s server answered ${started.status}: ${started.body}`);
  }
  let message = "";
  await waitUntil(
    async () => {
      const progress = await browser.hubApi("GET", `/users/${user}/server/progress`);
      const events = progress.body
        .split("\n")
        .filter((line) => line.startsWith("data:"))
        .map((line) => JSON.parse(line.slice(5)) as { failed?: boolean; message?: string });
      message = events.find((event) => event.failed)?.message ?? "";
      return message !== "";
    },
    `the failed spawn of ${user}`,
    60000,
    500,
  );
  return message;
}

t.test("alice's launch: the planned container, reached through the proxy, records in Moodle", async (t) => {
  const browser = await launch(ALICE);
  await browser.spawn(ALICE.name, SPAWN_WAIT_MS);

  const details = await containerOf(ALICE.name);
  const env = envOf(details);
  t.match(details, {
    image: image.name,
    running: true,
    user: `${30000 + ALICE.userId}:30000`,
    memory: MEMORY,
    cpuPeriod: 100000,
    cpuQuota: 50000,
    networkMode: "slirp4netns",
  });
  t.match(details.name, new RegExp(`^jupyterhub-${COURSE}-${LTI_ID}-${MOODLE_HOST}-[A-Za-z0-9]{8}-alice$`));
  t.same(
    bindsOf(details),
    [
      `${homeOf("alice")}:${homeOf("alice")}`,
      volumeBind("alice", TASK_VOLUME),
      volumeBind("alice", SUBMIT_VOLUME),
    ].sort(),
    "home, task and submit volume (alice is on the report's list)",
  );
  t.match(env, {
    NB_USER: "alice",
    NB_UID: "30076",
    NB_TEACHER: "",
    NB_UMASK: "0037",
    NB_VOLUMES: `.volumes/${TASK_VOLUME}:Data`,
    NB_SUBMITS: `.volumes/${SUBMIT_VOLUME}:Report`,
    MEM_LIMIT: String(MEMORY),
    CPU_LIMIT: "0.5",
    LTI_CTR_ID: String(INST_ID),
    LTI_ID: String(LTI_ID),
    LTI_COURSE: "Course 42",
    JUPYTERHUB_USER: "alice",
    JUPYTERHUB_API_URL: `http://10.0.2.2:${hubPort}/hub/api`,
    JUPYTERHUB_ACTIVITY_URL: `http://10.0.2.2:${hubPort}/hub/api/users/alice/activity`,
    JUPYTERHUB_SERVICE_URL: "http://0.0.0.0:8888/user/alice/",
  });
  t.notOk("PATH" in env && env.PATH === process.env.PATH, "the hub's own PATH is not passed on");
  const home = statSync(homeOf("alice"));
  t.same([home.uid, home.gid, home.mode & 0o777], [30076, 30000, 0o700], "the home was created for alice");

  const route = (await hub.routes())["/user/alice"];
  const port = details.ports["8888/tcp"]?.[0];
  t.equal(port?.hostIp, "127.0.0.1", "the notebook port is published on 127.0.0.1");
  t.equal(route?.target, `http://127.0.0.1:${port?.hostPort}`, "JupyterHub routes to the published port");

  await browser.authorizeServer(ALICE.name);
  const status = await browser.fetch("/user/alice/api/status");
  t.equal(status.status, 200, "the notebook server answers through the proxy");
  const kernel = await browser.startKernel(ALICE.name);
  const channel = await browser.openKernel(ALICE.name, kernel.id);
  const run = await channel.execute(
    "import os; print(os.getuid(), sorted(os.listdir(os.environ['NB_WRKDIR'] + '/.volumes')))",
    { tags: ["filename:lab.ipynb", "codenum:1"], cellId: "cell-1", timeoutMs: 60000 },
  );
  t.equal(run.status, "ok");
  t.equal(
    run.outputs.map((output) => String(output.content.text)).join(""),
    `30076 ['${SUBMIT_VOLUME}', '${TASK_VOLUME}']\n`,
    "the kernel runs as alice and sees the course volumes",
  );
  t.equal(
    (await channel.execute("1 / 0", { tags: ["filename:lab.ipynb", "codenum:2"], cellId: "cell-2" })).status,
    "error",
  );

  await waitUntil(
    () => moodle.serverData.filter((row) => row.session === channel.sessionId).length >= 2,
    "alice's records at the Moodle stand-in",
  );
  t.match(
    moodle.session.filter((row) => row.session === channel.sessionId),
    [{ inst_id: INST_ID, lti_id: LTI_ID, course: COURSE }],
    "the kernel session is linked to the launch's inst_id / lti_id",
  );
  t.same(
    moodle.serverData.filter((row) => row.session === channel.sessionId).map((row) => row.status),
    ["ok", "error"],
  );
  await channel.close();

  await browser.stopServer(ALICE.name);
  t.same(await containersOf(ALICE.name), [], "stopping the server removes the container");
  t.notOk("/user/alice" in (await hub.routes()), "and JupyterHub removed the route");
  t.same(
    (await listCourseVolumes(engine, { course: String(COURSE), host: MOODLE_HOST })).map(
      (volume) => volume.name,
    ),
    [SUBMIT_VOLUME, TASK_VOLUME],
    "the course's named volumes are kept",
  );
});

t.test("bob and the teacher in the same course: role, umask and volumes", async (t) => {
  const bob = await launch(BOB);
  const teacher = await launch(TEACHER);
  await bob.spawn(BOB.name, SPAWN_WAIT_MS);
  await teacher.spawn(TEACHER.name, SPAWN_WAIT_MS);

  const bobs = await containerOf(BOB.name);
  t.same(
    bindsOf(bobs),
    [`${homeOf("bob")}:${homeOf("bob")}`, volumeBind("bob", TASK_VOLUME)].sort(),
    "bob is not on the report's list: no submit volume",
  );
  t.match(envOf(bobs), { NB_USER: "bob", NB_TEACHER: "", NB_UMASK: "0037", NB_SUBMITS: "" });

  const teachers = await containerOf(TEACHER.name);
  t.same(
    bindsOf(teachers),
    [
      `${homeOf("teacher1")}:${homeOf("teacher1")}`,
      volumeBind("teacher1", TASK_VOLUME),
      volumeBind("teacher1", SUBMIT_VOLUME),
    ].sort(),
    "the teacher sees every volume of the course",
  );
  t.match(envOf(teachers), {
    NB_USER: "teacher1",
    NB_UID: "30005",
    NB_TEACHER: "teacher1",
    NB_UMASK: "0033",
    NB_SUBMITS: `.volumes/${SUBMIT_VOLUME}:Report`,
  });

  for (const [browser, user] of [
    [bob, BOB.name],
    [teacher, TEACHER.name],
  ] as const) {
    await browser.authorizeServer(user);
    t.equal(
      (await browser.fetch(`/user/${user}/api/status`)).status,
      200,
      `${user}'s server answers through the proxy`,
    );
  }

  const server = { user: TEACHER.name, server: "", id: teachers.id };
  t.same(await callEndpoint("poll", server), { status: 200, body: { running: true } }, "poll: running");
  t.match(
    await callEndpoint("stop", { ...server, user: BOB.name }),
    { status: 409, body: { error: "CONTAINER_NOT_OWNED" } },
    "a stop naming another user's container is refused",
  );
  t.equal((await inspectContainer(engine, teachers.id)).running, true, "and the container still runs");
  await teacher.stopServer(TEACHER.name);
  t.same(await containersOf(TEACHER.name), [], "the teacher's container is gone");
  t.same(await callEndpoint("poll", server), { status: 200, body: { running: false } }, "poll: gone");

  // A container that ends on its own: JupyterHub's poll (every second here) finds it gone and drops the route.
  await podman.podman(["kill", bobs.id]);
  await waitUntil(
    async () => (await bob.userModel(BOB.name)).server === null,
    "JupyterHub to notice that bob's container ended",
  );
  t.notOk("/user/bob" in (await hub.routes()), "bob's route is removed");
  // The engine removes it (AutoRemove) once its clean-up after the exit has run.
  await waitUntil(async () => (await containersOf(BOB.name)).length === 0, "the removal of bob's container");
  t.equal(
    (await listCourseVolumes(engine, { course: String(COURSE), host: MOODLE_HOST })).length,
    2,
    "the volumes are kept",
  );
});

t.test("bad input at the endpoint is refused with a clear error, nothing created", async (t) => {
  const before = await engineObjects();
  const hubEnvironment = {
    JUPYTERHUB_API_TOKEN: "secret-api-token-0123456789",
    JUPYTERHUB_API_URL: `http://127.0.0.1:${hubPort}/hub/api`,
  };
  const start = (launchOverride: Record<string, string>, user = "mallory") =>
    callEndpoint("start", {
      user,
      server: "",
      launch: { ...launchFields({ name: user, userId: 99 }), ...launchOverride },
      environment: hubEnvironment,
      command: null,
      args: [],
    });
  const refusals: Array<[string, Record<string, string>, string, RegExp]> = [
    [
      "shell metacharacters in the image",
      { custom_lms_image: "alpine;id" },
      "custom_lms_image",
      /not an image name/,
    ],
    [
      "shell metacharacters in a link",
      { custom_lms_vol_data: "Data$(id)" },
      "custom_lms_vol_data",
      /link name/,
    ],
    [
      "a command in the options",
      { custom_lms_options: "x;rm -rf /" },
      "custom_lms_options",
      /options are words/,
    ],
    [
      "../ in a volume name",
      { "custom_lms_vol_../../etc": "Etc" },
      "custom_lms_vol_../../etc",
      /volume name/,
    ],
    [
      "../ in the course id",
      { context_id: "../../etc" },
      "context_id",
      /cannot be part of container and volume names/,
    ],
    [
      "a huge memory limit",
      { custom_lms_memlimit: "99999999999999999999" },
      "custom_lms_memlimit",
      /above the spawner policy's maximum/,
    ],
    [
      "a huge CPU limit",
      { custom_lms_cpulimit: "64" },
      "custom_lms_cpulimit",
      /above the spawner policy's maximum/,
    ],
    [
      "an image outside the policy",
      { custom_lms_image: "docker.io/someone/miner:latest" },
      "custom_lms_image",
      /not allowed by the spawner policy/,
    ],
  ];
  for (const [what, override, field, message] of refusals) {
    const answer = await start(override);
    t.equal(answer.status, 400, `${what}: 400`);
    t.equal(answer.body.field, field, `${what}: names ${field}`);
    t.match(answer.body.message, message, `${what}: ${String(answer.body.message)}`);
  }
  const badUser = await start({}, "mallory;id");
  t.match(badUser, { status: 400, body: { field: "user" } }, "a user name with shell metacharacters");

  const missing = await start({ custom_lms_image: MISSING_IMAGE });
  t.match(
    missing,
    { status: 502, body: { error: "IMAGE_NOT_FOUND", message: /not on the container engine/ } },
    "an allowed image the engine does not have",
  );
  t.match(await callEndpoint("start", "{not json"), {
    status: 400,
    body: { error: "SPAWN_REQUEST_INVALID" },
  });
  t.match(await callEndpoint("start", { user: "x", environment: {}, extra: 1 }), {
    status: 400,
    body: { field: "extra" },
  });
  t.match(await callEndpoint("start", {}, "wrong-token"), { status: 403 });
  t.match(await callEndpoint("poll", { user: "alice", id: "../../containers" }), { status: 400 });
  t.notMatch(
    JSON.stringify(hub.logs()),
    hubEnvironment.JUPYTERHUB_API_TOKEN,
    "the Hub API token is never logged",
  );

  t.same(await engineObjects(), before, "no container and no volume was created");
  t.notOk(existsSync(homeOf("mallory")), "no home was created");
});

t.test("a forged launch through the hub fails the spawn with the proxy's reason", async (t) => {
  const before = await engineObjects();
  const browser = await launch({ name: "mallory", userId: 98 }, { custom_lms_image: "alpine;id" });
  const message = await spawnFailure(browser, "mallory");
  t.match(
    message,
    /^Spawn failed: ltictr-proxy could not start the server: custom_lms_image: "alpine;id" is not an image name/,
  );
  t.same(await engineObjects(), before, "nothing was created");
});

t.test("without the engine the spawn fails with a clear message and the proxy keeps serving", async (t) => {
  await podman.stop();
  const browser = await launch({ name: "carol", userId: 80 });
  const message = await spawnFailure(browser, "carol");
  t.match(message, /cannot reach the container engine at .*engine\.sock: no such socket/);
  t.equal((await browser.hubApi("GET", "/user")).status, 200, "the hub still answers through the proxy");
  t.ok("/" in (await hub.routes()), "the routes API still answers");
});

t.test("the hub stops cleanly, no container process is left", async (t) => {
  for (const browser of browsers) await browser.close();
  const report = await hub.stop();
  t.equal(report.hubExit, 0);
  t.same(report.leftovers, []);
});
