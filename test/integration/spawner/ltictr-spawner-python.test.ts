import t from "tap";
import { execFile } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { SYSTEM_PYTHON } from "../../support/jupyterhub.js";
import { freePort } from "../../support/ports.js";

/**
 * The shipped `LtictrSpawner` (Python, JupyterHub 3.0) against a stand-in of the proxy's spawner endpoint: what
 * it sends for start, poll and stop, and what it makes of each answer. The real endpoint behind a real
 * JupyterHub is in test/e2e/spawner-jupyterhub.test.ts.
 */

const REPOSITORY = fileURLToPath(new URL("../../../../", import.meta.url));
const TOKEN = "proxy-api-token";

interface Received {
  path: string;
  authorization: string | undefined;
  body: Record<string, unknown>;
}

const received: Received[] = [];
/** Answers per operation, in order. */
const answers: Record<string, Array<[number, unknown]>> = {
  start: [
    [
      201,
      { id: "c9", name: "jupyterhub-42-0-localhost-abc-alice", ip: "127.0.0.1", port: 40001, warnings: [] },
    ],
    [
      400,
      {
        error: "LAUNCH_UNSAFE_VALUE",
        field: "custom_lms_image",
        message: 'custom_lms_image: "a;b" is not an image name',
      },
    ],
  ],
  poll: [
    [200, { running: true }],
    [200, { running: false, exitCode: 3 }],
    [503, { error: "ENGINE_UNREACHABLE", message: "cannot reach the container engine" }],
    [409, { error: "CONTAINER_NOT_OWNED", message: "not alice's" }],
    [200, { running: false }],
  ],
  stop: [[200, { removed: true }]],
};

const server = createServer((req, res) => {
  let text = "";
  req.on("data", (chunk: Buffer) => (text += chunk.toString()));
  req.on("end", () => {
    const path = req.url ?? "";
    received.push({
      path,
      authorization: req.headers.authorization,
      body: JSON.parse(text) as Record<string, unknown>,
    });
    const [status, body] = answers[path.split("/").pop() ?? ""]?.shift() ?? [404, { error: "NOT_FOUND" }];
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  });
});
server.listen(0, "127.0.0.1");
await once(server, "listening");
t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const closedUrl = `http://127.0.0.1:${await freePort()}`;

const { stdout } = await promisify(execFile)(SYSTEM_PYTHON, [
  join(REPOSITORY, "test", "fixtures", "jupyterhub", "drive_ltictr_spawner.py"),
  join(REPOSITORY, "jupyterhub"),
  url,
  TOKEN,
  closedUrl,
]);
const steps = new Map(
  stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown> & { step: string })
    .map((entry) => [entry.step, entry]),
);

t.test("start sends the launch, JupyterHub's environment and no command; answers (ip, port)", async (t) => {
  t.same(steps.get("start")?.result, {
    ip: "127.0.0.1",
    port: 40001,
    state: { container_id: "c9", container_name: "jupyterhub-42-0-localhost-abc-alice" },
  });
  const start = received[0]!;
  t.equal(start.path, "/api/spawner/start");
  t.equal(start.authorization, `token ${TOKEN}`);
  t.match(start.body, { user: "alice", server: "", command: null, args: [] });
  t.same(
    start.body.launch,
    { context_id: "42", user_id: "76", ext_user_username: "alice" },
    "auth_state's strings (numbers as text); other values left out",
  );
  t.match(start.body.environment, {
    JUPYTERHUB_API_TOKEN: "hub-token",
    JUPYTERHUB_USER: "alice",
    JUPYTERHUB_API_URL: "http://127.0.0.1:18081/hub/api",
  });
  t.notOk("PATH" in (start.body.environment as object), "the Hub's PATH is not kept");
});

t.test("a refusal fails the spawn with the proxy's message", async (t) => {
  t.match(steps.get("start refused"), {
    error: 'ltictr-proxy could not start the server: custom_lms_image: "a;b" is not an image name',
    jupyterhub_message:
      'ltictr-proxy could not start the server: custom_lms_image: "a;b" is not an image name',
    status: 400,
    code: "LAUNCH_UNSAFE_VALUE",
    field: "custom_lms_image",
  });
  t.match(steps.get("start unreachable"), {
    error: `cannot reach ltictr-proxy at ${closedUrl}/api/spawner/start: [Errno 111] Connection refused`,
    status: null,
  });
});

t.test(
  "poll: None while running or unknown, the exit code once ended, 0 for a container not the server's",
  async (t) => {
    t.same(
      ["running", "exited", "engine down", "not owned", "gone"].map(
        (step) => steps.get(`poll ${step}`)?.result,
      ),
      [null, 3, null, 0, 0],
    );
    t.same(received[2]!.body, { user: "alice", server: "", id: "c1" });
    t.same(steps.get("poll without container")?.result, 0, "no container: not running, no request");
  },
);

t.test(
  "stop: timeout 0 when JupyterHub asks for an immediate stop; nothing to stop without a container",
  async (t) => {
    const stops = received.filter((request) => request.path === "/api/spawner/stop");
    t.same(
      stops.map((request) => request.body),
      [{ user: "alice", server: "", id: "c1", timeoutSeconds: 0 }],
    );
    t.equal(steps.get("stop without container")?.result, null);
    t.equal(received.length, 8, "2 starts, 5 polls, 1 stop");
  },
);
