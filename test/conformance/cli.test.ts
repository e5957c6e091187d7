import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import t from "tap";
import { CertificateAuthority } from "../support/certificates.js";
import { startEchoBackend, type EchoReply } from "../support/echo-backend.js";
import { listenArgs, sslArgs } from "../support/loopback-proxy.js";
import { freePorts } from "../support/ports.js";
import { tempDir, type Teardown } from "../support/temp-dir.js";
import { waitUntil } from "../support/wait.js";
import { json, webRequest } from "../support/web-client.js";
import { dataDirArgs, startBinary, startProxyUnderTest, TOKEN } from "./harness.js";

// The command line and process behaviour.

// Every check starts its own processes; running them side by side keeps the file quick.
t.jobs = 4;

const backend = await startEchoBackend({ path: "/" });
t.teardown(() => backend.close());
const ca = CertificateAuthority.root(tempDir(t), "cli-ca");
const server = ca.server("server");
const VERSION = (
  JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string }
).version;

function run(t: Teardown, args: string[], env: NodeJS.ProcessEnv = { CONFIGPROXY_AUTH_TOKEN: TOKEN }) {
  const proc = startBinary([...dataDirArgs(t), ...args], env);
  t.teardown(() => proc.stop());
  return proc;
}

/** Runs the binary expecting it to exit on its own; resolves with its exit code and stderr. */
async function runToExit(t: Teardown, args: string[]) {
  const proc = run(t, args);
  const code = await proc.exited();
  return { code, stderr: proc.stderr(), stdout: proc.stdout() };
}

t.test("13: basic HTTP request; readiness lines on stdout, ip:port in order, no colours", async (t) => {
  const [port, apiPort] = await freePorts(2);
  const proc = run(
    t,
    [
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--api-ip=127.0.0.1",
      `--api-port=${apiPort}`,
      `--default-target=${backend.target}`,
    ],
    // The tap runner sets FORCE_COLOR for its children; a plain start has none.
    { CONFIGPROXY_AUTH_TOKEN: TOKEN, FORCE_COLOR: "" },
  );
  await proc.waitFor(/Route added \//);
  const stdout = proc.stdout();
  t.match(stdout, `Proxying http://127.0.0.1:${port} to ${backend.target}`);
  t.match(stdout, `Proxy API at http://127.0.0.1:${apiPort}/api/routes`);
  t.match(stdout, `Route added / -> ${backend.target}`);
  t.match(stdout, /^\d{4}-\d\d-\d\dT[\d:.]+Z \[ConfigProxy\] info: /m, "CHP's line shape");
  t.notOk(stdout.includes("\x1b["), "no ANSI colours without a TTY");
  const reply = json<EchoReply>(await webRequest(`http://127.0.0.1:${port}/`));
  t.equal(reply.path, "/");
  const exit = await proc.stop();
  t.equal(exit, 2, "SIGTERM exits 2");
});

t.test("readiness line without a default target; --api-port defaults to port+1", async (t) => {
  // port+1 is not reserved between the check and the start: an outgoing connection of a test running beside
  // this one can take it as its local port. A start that loses that race is retried on another pair.
  for (let attempt = 1; attempt <= 20; attempt++) {
    const [port] = await freePorts(1);
    if (!(await portIsFree(port + 1))) continue;
    const proc = run(t, ["--ip", "127.0.0.1", "--port", String(port), "--api-ip", "127.0.0.1"]);
    const failure = await proc.waitFor(/Proxy API at/).then(
      () => undefined,
      (error: Error) => error,
    );
    if (failure && attempt < 20 && /EADDRINUSE/.test(proc.stderr())) continue;
    if (failure) throw failure;
    t.match(proc.stdout(), `Proxying http://127.0.0.1:${port} to (no default)`);
    t.match(proc.stdout(), `Proxy API at http://127.0.0.1:${port + 1}/api/routes`);
    const answer = await webRequest(`http://127.0.0.1:${port + 1}/api/routes`, {
      headers: { authorization: `token ${TOKEN}` },
    });
    t.equal(answer.status, 200);
    return;
  }
  t.fail("no free pair of adjacent ports in 20 tries");
});

t.test("an empty --ip (JupyterHub 5's `--ip ''`) listens on all interfaces", async (t) => {
  const [port, apiPort] = await freePorts(2);
  const proc = run(t, listenArgs({ port, apiPort }, ""));
  await proc.waitFor(/Proxy API at/);
  t.equal((await webRequest(`http://127.0.0.1:${port}/_chp_healthz`)).status, 200);
});

t.test("14, 17: HTTPS with --ssl-key/--ssl-cert; custom headers reach the backend", async (t) => {
  const { process: proc, port } = await startProxyUnderTest(
    t,
    [
      "--default-target",
      backend.target,
      ...sslArgs(server),
      "--custom-header",
      "k1: v1",
      "--custom-header",
      " k2 : host:123 ",
    ],
    { ready: /Route added \// },
  );
  t.match(proc.stdout(), `Proxying https://127.0.0.1:${port}`);
  const answer = await webRequest(`https://127.0.0.1:${port}/secure`, { ca: ca.pem });
  t.equal(answer.status, 200);
  const reply = json<EchoReply>(answer);
  t.equal(reply.url, "/secure");
  t.equal(reply.headers.k1, "v1");
  t.equal(reply.headers.k2, "host:123");
  t.equal(reply.headers["x-forwarded-proto"], "https");
  t.equal(reply.headers["x-forwarded-port"], String(port));
});

t.test("15, 16: --redirect-port and --redirect-to", async (t) => {
  const ports = await freePorts(9);
  const redirectPorts = [ports[2], ports[5], ports[8]];
  const [plain] = await Promise.all(
    [[], ["--redirect-to=8914"], ["--redirect-to=443"]].map((redirectTo, i) =>
      startProxyUnderTest(
        t,
        [
          "--default-target",
          backend.target,
          ...sslArgs(server),
          `--redirect-port=${redirectPorts[i]}`,
          ...redirectTo,
        ],
        {
          ports: { port: ports[3 * i], apiPort: ports[3 * i + 1] },
          ready: [/Route added \//, /Added HTTP to HTTPS redirection/],
        },
      ),
    ),
  );
  const [redirectPort, redirectPort2, redirectPort3] = redirectPorts;
  const port = plain.port;
  const redirected = await webRequest(`http://127.0.0.1:${redirectPort}/some/path?x=1`);
  t.equal(redirected.status, 301);
  t.equal(redirected.headers.location, `https://127.0.0.1:${port}/some/path?x=1`);
  const followed = await webRequest(redirected.headers.location ?? "", { ca: ca.pem });
  t.equal(json<EchoReply>(followed).url, "/some/path?x=1", "following the redirect reaches the backend");

  const other = await webRequest(`http://127.0.0.1:${redirectPort2}/x`);
  t.equal(other.status, 301);
  t.match(other.headers.location, "https://127.0.0.1:8914/x");
  const standard = await webRequest(`http://127.0.0.1:${redirectPort3}/x`, {
    headers: { host: "hub.example.org:80" },
  });
  t.equal(standard.headers.location, "https://hub.example.org/x", "port 443 is left out");
});

t.test("18: an invalid --custom-header exits 1 with 'colon was expected'", async (t) => {
  const { code, stderr } = await runToExit(t, ["--custom-header", "invalid"]);
  t.equal(code, 1);
  t.match(stderr, /colon was expected/);
});

t.test("configuration errors exit 1 with one clear stderr line", async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [["--bogus"], /error: unknown option '--bogus'/],
    [["extraarg"], /error: too many arguments/],
    [
      ["--socket", "/tmp/x.sock", "--port", "8123"],
      /error: option '--socket <path>' cannot be used with option '--port/,
    ],
    [["--api-socket", "/tmp/x.sock", "--api-port", "8123"], /cannot be used with/],
    [["--port", "abc"], /--port/],
    [["--timeout", "-5"], /--timeout/],
    [["--log-level", "loud"], /log-level/],
    [
      ["--error-target", "http://127.0.0.1:1", "--error-path", "/tmp"],
      /Cannot specify both error-target and error-path\. Pick one\./,
    ],
    [["--redirect-port", "8123"], /HTTPS redirection specified but certificates not provided\./],
    [["--ssl-key", "/nonexistent/key.pem", "--ssl-cert", "/nonexistent/cert.pem"], /\/nonexistent\//],
  ];
  const results = await Promise.all(cases.map(([args]) => runToExit(t, args)));
  results.forEach(({ code, stderr }, i) => {
    const [args, pattern] = cases[i];
    t.equal(code, 1, `${args.join(" ")} exits 1`);
    t.match(stderr, pattern, `${args.join(" ")}: ${stderr.trim()}`);
  });
});

t.test("-V prints the version, -h the usage; both exit 0", async (t) => {
  const version = await runToExit(t, ["-V"]);
  t.equal(version.code, 0);
  t.equal(version.stdout.trim(), VERSION);
  const help = await runToExit(t, ["--help"]);
  t.equal(help.code, 0);
  for (const option of ["--default-target", "--api-port", "--no-include-prefix", "--storage-backend"]) {
    t.match(help.stdout, option);
  }
});

t.test("--pid-file is written (no newline) and removed on SIGTERM/SIGINT; exit 2", async (t) => {
  const dir = tempDir(t);
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    const pidFile = join(dir, `${signal}.pid`);
    const { process: proc } = await startProxyUnderTest(t, ["--pid-file", pidFile], { ready: /Writing pid/ });
    // The line announces the write; give the write itself a moment.
    const written = () => existsSync(pidFile) && readFileSync(pidFile, "utf8") !== "";
    await waitUntil(written, "the pid file", 2000, 20);
    t.equal(readFileSync(pidFile, "utf8"), String(proc.child.pid), `${signal}: the pid, no newline`);
    proc.child.kill(signal);
    t.equal(await proc.exited(), 2, `${signal} exits 2`);
    t.notOk(existsSync(pidFile), `${signal}: pid file removed`);
  }
});

t.test("a port that cannot be bound makes the process exit non-zero", async (t) => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  t.teardown(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
  const taken = (blocker.address() as { port: number }).port;
  const [apiPort, port] = await freePorts(2);
  const publicTaken = await runToExit(t, listenArgs({ port: taken, apiPort }));
  t.not(publicTaken.code, 0);
  t.match(publicTaken.stderr + publicTaken.stdout, /EADDRINUSE/);
  const apiTaken = await runToExit(t, listenArgs({ port, apiPort: taken }));
  t.not(apiTaken.code, 0, "the API port too");
});

t.test("tokens never reach the log, even at debug level", async (t) => {
  const proxy = await startProxyUnderTest(t, ["--log-level=debug"]);
  const wrong = "wrong-token-that-must-not-be-logged";
  const rejected = await proxy.api("GET", "", undefined, { authorization: `token ${wrong}` });
  t.equal(rejected.status, 403);
  const accepted = await proxy.api("POST", "/x", { target: backend.target });
  t.equal(accepted.status, 201);
  await webRequest(`${proxy.url}/x/y`, {
    headers: { authorization: `token ${TOKEN}`, cookie: "s=secret-cookie" },
  });
  await proxy.process.stop();
  const logs = proxy.process.stdout() + proxy.process.stderr();
  t.match(logs, /403 GET \/api\/routes/, "the rejection is logged");
  t.notMatch(logs, wrong);
  t.notMatch(logs, TOKEN);
  t.notMatch(logs, "secret-cookie");
});

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}
