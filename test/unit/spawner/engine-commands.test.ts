import t from "tap";
import { join } from "node:path";
import { runEngineCommand } from "../../../src/spawner/cli/engine-commands.js";
import { startFakeEngine, type ReceivedRequest } from "../../support/fake-engine.js";
import { tempDir } from "../../support/temp-dir.js";

async function run(argv: string[]) {
  let stdout = "";
  let stderr = "";
  const code = await runEngineCommand(argv, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
  return { code, stdout, stderr };
}

const IMAGES = [
  { Id: "sha256:0123456789abcdef", RepoTags: ["localhost/jupyterhub-lab:1"], Created: 1, Size: 288_000_000 },
  { Id: "sha256:fedcba9876543210", RepoTags: ["postgres:16"], Created: 2, Size: 2_130_000 },
];
const VOLUMES = [
  { Name: "lms_vol_rsa_219_el.example", Driver: "local", CreatedAt: "2026-01-01T00:00:00Z" },
  { Name: "lms_sub_rep_219_el.example", Driver: "local" },
  { Name: "lms_vol_rsa_220_el.example", Driver: "local" },
  { Name: "postgres-data", Driver: "local" },
];

function engineAnswers(request: ReceivedRequest) {
  if (request.url === "/_ping") return { status: 200, raw: "OK", headers: { "Api-Version": "1.41" } };
  if (request.url === "/v1.41/images/json") return { status: 200, body: IMAGES };
  if (request.url === "/v1.41/volumes") return { status: 200, body: { Volumes: VOLUMES } };
  if (request.url === "/v1.41/volumes/create")
    return { status: 201, body: { ...JSON.parse(request.body), Driver: "local" } };
  if (request.method === "DELETE") return { status: 204 };
  return undefined;
}

t.test("images: a table, or JSON; mod_lticontainer's filter applies", async (t) => {
  const engine = await startFakeEngine(t, engineAnswers);
  const socket = ["--engine-socket", engine.socketPath];
  t.same(await run(["images", ...socket]), {
    code: 0,
    stdout:
      "NAME                        ID            SIZE\nlocalhost/jupyterhub-lab:1  0123456789ab  288.0 MB\npostgres:16                 fedcba987654  2.1 MB\n",
    stderr: "",
  });
  const json = await run(["images", ...socket, "--filter", "jupyterhub,-postgres", "--json"]);
  t.same(JSON.parse(json.stdout), [
    { name: "localhost/jupyterhub-lab:1", id: "sha256:0123456789abcdef", created: 1, sizeBytes: 288_000_000 },
  ]);
});

t.test("volumes list: one course on one host, with roles and short names", async (t) => {
  const engine = await startFakeEngine(t, engineAnswers);
  const result = await run([
    "volumes",
    "list",
    "--course",
    "219",
    "--host",
    "EL.example",
    "--engine-socket",
    engine.socketPath,
  ]);
  t.same(result, {
    code: 0,
    stdout:
      "NAME                        ROLE    SHORT NAME\nlms_sub_rep_219_el.example  submit  rep\nlms_vol_rsa_219_el.example  task    rsa\n",
    stderr: "",
  });
  const json = await run([
    "volumes",
    "list",
    "--course",
    "220",
    "--host",
    "el.example",
    "--json",
    "--engine-socket",
    engine.socketPath,
  ]);
  t.same(JSON.parse(json.stdout), [
    {
      name: "lms_vol_rsa_220_el.example",
      role: "task",
      shortName: "rsa",
      course: "220",
      host: "el.example",
      driver: "local",
    },
  ]);
});

t.test("volumes create and remove, by full name or by parts", async (t) => {
  const engine = await startFakeEngine(t, engineAnswers);
  const socket = ["--engine-socket", engine.socketPath];
  t.same(await run(["volumes", "create", "lms_vol_rsa_219_el.example", ...socket]), {
    code: 0,
    stdout: "created lms_vol_rsa_219_el.example\n",
    stderr: "",
  });
  const created = await run([
    "volumes",
    "create",
    "--course",
    "219",
    "--host",
    "EL.Example",
    "--role",
    "submit",
    "--name",
    "rep",
    "--json",
    ...socket,
  ]);
  t.match(JSON.parse(created.stdout), {
    name: "lms_sub_rep_219_el.example",
    role: "submit",
    shortName: "rep",
  });
  t.same(
    await run([
      "volumes",
      "remove",
      "--course",
      "219",
      "--host",
      "el.example",
      "--role",
      "prs",
      "--name",
      "x",
      ...socket,
    ]),
    { code: 0, stdout: "removed lms_prs_x_219_el.example\n", stderr: "" },
  );
  t.same(await run(["volumes", "remove", "lms_vol_rsa_219_el.example", "--json", ...socket]), {
    code: 0,
    stdout: '{"removed":"lms_vol_rsa_219_el.example"}\n',
    stderr: "",
  });
  t.same(
    engine.requests.filter((r) => r.url !== "/_ping").map((r) => `${r.method} ${r.url} ${r.body}`),
    [
      'POST /v1.41/volumes/create {"Name":"lms_vol_rsa_219_el.example"}',
      'POST /v1.41/volumes/create {"Name":"lms_sub_rep_219_el.example"}',
      "DELETE /v1.41/volumes/lms_prs_x_219_el.example ",
      "DELETE /v1.41/volumes/lms_vol_rsa_219_el.example ",
    ],
  );
});

t.test("bad input: exit 1 with one line on stderr, before any call to the engine", async (t) => {
  const engine = await startFakeEngine(t, engineAnswers);
  const socket = ["--engine-socket", engine.socketPath];
  const cases: [string[], string][] = [
    [[], "error: missing command: images or volumes\n"],
    [["containers"], 'error: unknown command "containers"\n'],
    [["volumes"], "error: missing volumes action: list, create or remove\n"],
    [["volumes", "prune"], 'error: unknown volumes action "prune"\n'],
    [["images", "--bogus"], "error: unknown option '--bogus'\n"],
    [["images", "x"], "error: too many arguments for 'images'. Expected 0 arguments but got 1.\n"],
    [
      ["volumes", "list", "--course", "219", ...socket],
      "error: required option '--host <host>' not specified\n",
    ],
    [
      ["volumes", "list", "--course", "219", "--host", "a b", ...socket],
      "error: invalid course volume host \"a b\": expected letters, digits, '.', '-' and '_', no '..'\n",
    ],
    [["volumes", "create", "lms_vol_x_219_../../etc", ...socket], ""],
    [["volumes", "remove", "postgres-data", ...socket], ""],
    [
      ["volumes", "create", ...socket],
      "error: give either a volume name or all of --course, --host, --role and --name\n",
    ],
    [
      ["volumes", "create", "lms_vol_a_1_h", "--course", "1", ...socket],
      "error: give either a volume name or all of --course, --host, --role and --name\n",
    ],
    [
      ["volumes", "create", "--course", "1", "--host", "h", "--role", "x", "--name", "a", ...socket],
      "error: option '--role <role>' argument 'x' is invalid. Allowed choices are task, vol, submit, sub, personal, prs.\n",
    ],
    [
      ["volumes", "create", "--course", "1", "--host", "h", "--role", "task", "--name", "A-1", ...socket],
      'error: invalid course volume name "A-1": expected lower-case letters and digits\n',
    ],
  ];
  for (const [argv, expected] of cases) {
    const result = await run(argv);
    t.equal(result.code, 1, argv.join(" "));
    t.equal(result.stdout, "", `${argv.join(" ")}: nothing on stdout`);
    t.match(result.stderr, /^error: [^\n]+\n$/, `${argv.join(" ")}: one line`);
    if (expected) t.equal(result.stderr, expected);
  }
  t.equal(engine.connections, 0, "the engine was never called");
});

t.test("an unreachable engine: exit 1, one line naming the socket", async (t) => {
  const missing = join(tempDir(t, "ltictr-cli-"), "docker.sock");
  for (const argv of [
    ["images"],
    ["volumes", "list", "--course", "1", "--host", "h"],
    ["volumes", "remove", "lms_vol_a_1_h"],
  ]) {
    t.same(await run([...argv, "--engine-socket", missing]), {
      code: 1,
      stdout: "",
      stderr: `error: cannot reach the container engine at ${missing}: no such socket (is Docker running, or \`podman system service\`?)\n`,
    });
  }
});

t.test("help goes to stdout with exit 0", async (t) => {
  const result = await run(["volumes", "list", "--help"]);
  t.equal(result.code, 0);
  t.match(result.stdout, /Usage: ltictr-proxy spawner volumes list \[options\]/);
  t.match(result.stdout, /--engine-socket <path>.*\n.*default: "\/var\/run\/docker\.sock"/);
});
