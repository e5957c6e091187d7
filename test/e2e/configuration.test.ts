import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import t, { type Test } from "tap";
import { CertificateAuthority } from "../support/certificates.js";
import { startEchoBackend, type EchoBackend, type EchoReply } from "../support/echo-backend.js";
import { startLoopbackProxy } from "../support/loopback-proxy.js";
import { freePort } from "../support/ports.js";
import { startProxy, type RunningProcess } from "../support/proxy-process.js";
import { webRequest } from "../support/web-client.js";

/**
 * Configuration through the real binary: the C ltictr_proxy_server's flags and ltictr_proxy.conf, our JSON config
 * file and LTICTR_* variables with their precedence, and start-up refusals (exit 1 with one clear stderr line,
 * exit 3 when a port is taken).
 */

const API_TOKEN = "conf-api-token-5d41402abc4b2a76";

async function echoBackend(t: Test): Promise<EchoBackend> {
  const backend = await startEchoBackend();
  t.teardown(() => backend.close());
  return backend;
}

/** A root CA and a leaf certificate from an intermediate CA, as a commercial certificate comes. */
function chainedCertificate(dir: string) {
  const root = CertificateAuthority.root(dir, "root-ca");
  const intermediate = root.intermediate("intermediate-ca");
  return { root, intermediate, leaf: intermediate.server("leaf") };
}

function writeLtictrConf(dir: string, pki: ReturnType<typeof chainedCertificate>): string {
  const file = join(dir, "ltictr_proxy.conf");
  writeFileSync(
    file,
    [
      "# ltictr_proxy.conf of the C proxy",
      `LTICTR_API_Token = ${API_TOKEN}`,
      `LTICTR_Server_Cert = ${pki.leaf.cert}`,
      `LTICTR_Private_Key  =  ${pki.leaf.key}`,
      `LTICTR_Server_Chain = ${pki.intermediate.cert}`,
      "Rest_HTTPver = 1.1",
      "",
    ].join("\n"),
  );
  return file;
}

async function apiStatus(apiUrl: string, token?: string): Promise<number> {
  const response = await fetch(`${apiUrl}/api/routes`, {
    headers: token === undefined ? {} : { authorization: `token ${token}` },
  });
  await response.arrayBuffer();
  return response.status;
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
async function accepts(port: number): Promise<boolean> {
  try {
    await webRequest(`http://127.0.0.1:${port}/`);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ECONNREFUSED") return false;
    return true;
  }
}

t.test("ltictr_proxy_server flags and ltictr_proxy.conf", async (t) => {
  const backend = await echoBackend(t);
  const dir = t.testdir();
  const pki = chainedCertificate(dir);
  const conf = writeLtictrConf(dir, pki);
  const pidFile = join(dir, "ltictr_proxy.pid");
  const port = await freePort();
  const apiPort = await freePort();
  const backendPort = new URL(backend.target).port;
  // The C command line has no bind address; LTICTR_IP keeps the test on loopback (and shows env applies).
  // --pid always: without it the C default /var/run/ltictr_proxy.pid would be written.
  const proxy = startProxy(
    [
      "-p",
      String(port),
      "-c",
      "-a",
      String(apiPort),
      "-h",
      `127.0.0.1:${backendPort}`,
      "--conf",
      conf,
      "--pid",
      pidFile,
    ],
    { LTICTR_IP: "127.0.0.1", CONFIGPROXY_AUTH_TOKEN: undefined },
  );
  t.teardown(() => proxy.stop());
  await proxy.waitFor(/Route added \/ -> /);
  t.equal(readFileSync(pidFile, "utf8"), String(proxy.child.pid), "--pid writes the process id");
  t.match(
    proxy.stdout(),
    /Started with ltictr_proxy_server flags; translated to: --port/,
    "translation logged",
  );
  t.match(
    proxy.stdout(),
    `Proxying https://127.0.0.1:${port} to http://127.0.0.1:${backendPort}`,
    "-c → HTTPS",
  );
  t.match(proxy.stdout(), `Proxy API at http://127.0.0.1:${apiPort}/api/routes`, "-a → local API port");

  const response = await webRequest(`https://127.0.0.1:${port}/hub/login`, { ca: pki.root.pem });
  t.equal(
    response.status,
    200,
    "HTTPS with LTICTR_Server_Cert + LTICTR_Server_Chain, verified against the root",
  );
  t.equal(response.peerFingerprint, pki.leaf.fingerprint256, "the certificate named in the conf is served");
  t.equal((JSON.parse(response.body) as EchoReply).url, "/hub/login", "-h is the default target");

  t.equal(await apiStatus(`http://127.0.0.1:${apiPort}`, API_TOKEN), 200, "API accepts LTICTR_API_Token");
  t.equal(await apiStatus(`http://127.0.0.1:${apiPort}`), 403, "API refuses a request without a token");
  t.equal(await apiStatus(`http://127.0.0.1:${apiPort}`, "default_token"), 403, "…and the C default token");
  t.notMatch(proxy.stdout() + proxy.stderr(), API_TOKEN, "the API token is not logged");

  t.equal(await proxy.stop(), 2, "SIGTERM: exit code 2");
  t.notOk(existsSync(pidFile), "the pid file is removed on exit");
});

t.test("--config with a ltictr_proxy.conf and our own flags", async (t) => {
  const backend = await echoBackend(t);
  const dir = t.testdir();
  const pki = chainedCertificate(dir);
  const proxy = await startLoopbackProxy(t, [
    "--config",
    writeLtictrConf(dir, pki),
    "--default-target",
    backend.target,
  ]);
  const response = await webRequest(`https://127.0.0.1:${proxy.port}/x`, { ca: pki.root.pem });
  t.equal(response.status, 200, "HTTPS with the conf's certificate and chain");
  t.equal(await apiStatus(proxy.apiUrl, API_TOKEN), 200, "the conf's API token is used");
  t.equal(await apiStatus(proxy.apiUrl, "wrong"), 403, "a wrong token is refused");
});

t.test("JSON config file and LTICTR_* variables: flags > environment > file", async (t) => {
  const fromFile = await echoBackend(t);
  const fromEnv = await echoBackend(t);
  const dir = t.testdir();
  const ca = CertificateAuthority.root(dir, "json-ca");
  const server = ca.server("server");
  const [filePort, fileApiPort, envPort, envApiPort, flagPort] = await Promise.all(
    Array.from({ length: 5 }, () => freePort()),
  );
  const configFile = join(dir, "ltictr-proxy.json");
  writeFileSync(
    configFile,
    JSON.stringify({
      "//": "keys starting with // are comments",
      ip: "127.0.0.1",
      apiIp: "127.0.0.1",
      port: filePort,
      apiPort: fileApiPort,
      defaultTarget: fromFile.target,
      customHeader: ["X-From-File: yes"],
      sslCert: server.cert,
      sslKey: server.key,
      authToken: "file-token",
      accessLog: false,
    }),
  );
  const env = {
    CONFIGPROXY_AUTH_TOKEN: undefined,
    LTICTR_PORT: String(envPort),
    LTICTR_API_PORT: String(envApiPort),
    LTICTR_DEFAULT_TARGET: fromEnv.target,
    LTICTR_ACCESS_LOG: "yes",
  };
  const proxy = startProxy(["--config", configFile, "--port", String(flagPort)], env);
  t.teardown(() => proxy.stop());
  await proxy.waitFor(/Route added \//);
  t.match(proxy.stdout(), `Proxying https://127.0.0.1:${flagPort} to ${fromEnv.target}`, "--port flag wins");
  t.match(proxy.stdout(), `Proxy API at http://127.0.0.1:${envApiPort}/api/routes`, "LTICTR_API_PORT wins");
  t.notOk(await accepts(filePort), "nothing on the file's port");
  t.notOk(await accepts(envPort), "nothing on the environment's port (the flag overrides it)");

  const response = await webRequest(`https://127.0.0.1:${flagPort}/from/where?q=1`, { ca: ca.pem });
  t.equal(response.status, 200, "HTTPS with the file's sslCert/sslKey");
  t.equal(fromEnv.requests.length, 1, "the environment's default target got the request");
  t.equal(fromFile.requests.length, 0, "the file's default target got nothing");
  t.equal(fromEnv.requests[0]?.headers["x-from-file"], "yes", "customHeader from the file applies");
  // `\S*`: the level may be coloured, as CHP's is (FORCE_COLOR in the test runner's environment).
  await proxy.waitFor(/info\S*: 200 GET \/from\/where /);
  t.pass("LTICTR_ACCESS_LOG=yes overrides the file's accessLog: false");

  t.equal(
    await apiStatus(`http://127.0.0.1:${envApiPort}`, "file-token"),
    200,
    "the file's authToken is used",
  );
  t.equal(await apiStatus(`http://127.0.0.1:${envApiPort}`), 403, "…and required");

  const apiPort = await freePort();
  const withEnvToken = startProxy(
    ["--config", configFile, "--port", String(await freePort()), "--api-port", String(apiPort)],
    { ...env, CONFIGPROXY_AUTH_TOKEN: "env-token" },
  );
  t.teardown(() => withEnvToken.stop());
  await withEnvToken.waitFor(/Route added \//);
  t.equal(await apiStatus(`http://127.0.0.1:${apiPort}`, "env-token"), 200, "CONFIGPROXY_AUTH_TOKEN wins");
  t.equal(await apiStatus(`http://127.0.0.1:${apiPort}`, "file-token"), 403, "…over the file's authToken");
});

/** Runs the binary until it exits on its own (a bounded wait; a proxy that starts instead is stopped). */
async function runToExit(
  t: Test,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | string; proxy: RunningProcess }> {
  const proxy = startProxy(args, { CONFIGPROXY_AUTH_TOKEN: undefined, ...env });
  t.teardown(() => proxy.stop());
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    proxy.exited(),
    new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve("still running"), 15000);
    }),
  ]);
  clearTimeout(timer);
  return { code, proxy };
}

/** Exit code `code` and exactly one stderr line, matching `message`, and no stack trace. */
function expectOneLine(
  t: Test,
  result: { code: number | string; proxy: RunningProcess },
  code: number,
  message: RegExp,
): void {
  const stderr = result.proxy.stderr();
  const lines = stderr.split("\n").filter((line) => line.trim() !== "");
  t.equal(result.code, code, `exit code ${code}`, { stdout: result.proxy.stdout(), stderr });
  t.equal(lines.length, 1, "one line on stderr", { stderr });
  t.match(lines[0] ?? "", /^error: /, "it starts with error:");
  t.match(lines[0] ?? "", message, "it names the problem");
  t.notMatch(stderr + result.proxy.stdout(), /\n\s+at \S+ \(|\bat file:\/\//, "no stack trace");
}

t.test("invalid configuration: exit 1 with one clear line", async (t) => {
  const dir = t.testdir({
    "bad.json": '{ "port": 8443, }',
    "unknown-key.json": JSON.stringify({ sslCertificate: "/etc/ssl/cert.pem" }),
    "wrong-type.json": JSON.stringify({ port: "443" }),
    "array.json": JSON.stringify([{ port: 443 }]),
  });
  const ca = CertificateAuthority.root(dir, "invalid-ca");
  const a = ca.server("a");
  const b = ca.server("b");
  const missing = join(dir, "no-such-cert.pem");
  const json = (name: string) => join(dir, name);

  const cases: Array<{ name: string; args: string[]; env?: NodeJS.ProcessEnv; message: RegExp }> = [
    { name: "port out of range", args: ["--port", "99999"], message: /--port <n>.*99999.*0 to 65535/ },
    { name: "port not a number", args: ["--api-port", "80a"], message: /--api-port <n>.*'80a'/ },
    { name: "unknown option", args: ["--bogus-option"], message: /unknown option '--bogus-option'/ },
    {
      name: "WebSocket hold beyond a second",
      args: ["--websocket-hold", "1001"],
      message: /--websocket-hold <ms>.*1001.*0 to 1000/,
    },
    {
      name: "missing certificate file",
      args: ["--ssl-cert", missing, "--ssl-key", a.key],
      message: /--ssl-cert .*no-such-cert\.pem: cannot read/,
    },
    {
      name: "key not matching the certificate",
      args: ["--ssl-cert", a.cert, "--ssl-key", b.key],
      message: /--ssl-key .*b\.key does not match the certificate in --ssl-cert .*a\.pem/,
    },
    {
      name: "certificate without key",
      args: ["--ssl-cert", a.cert],
      message: /--ssl-cert is given but --ssl-key is missing/,
    },
    {
      name: "a key where the certificate belongs",
      args: ["--ssl-cert", a.key, "--ssl-key", a.key],
      message: /--ssl-cert .*a\.key: no PEM certificate found/,
    },
    {
      name: "chain file missing",
      args: ["--ssl-cert", a.cert, "--ssl-key", a.key, "--ssl-chain", missing],
      message: /--ssl-chain .*no-such-cert\.pem: cannot read/,
    },
    {
      name: "unknown TLS protocol",
      args: ["--ssl-cert", a.cert, "--ssl-key", a.key, "--ssl-protocol", "SSLv3"],
      message: /--ssl-protocol "SSLv3": unsupported/,
    },
    {
      name: "both --error-target and --error-path",
      args: ["--error-target", "http://127.0.0.1:9", "--error-path", dir],
      message: /Cannot specify both error-target and error-path/,
    },
    {
      name: "--redirect-port without TLS",
      args: ["--redirect-port", "0"],
      message: /HTTPS redirection specified but certificates not provided/,
    },
    {
      name: "config file that is not JSON",
      args: ["--config", json("bad.json")],
      message: /--config .*bad\.json: invalid JSON/,
    },
    {
      name: "config file that is not an object",
      args: ["--config", json("array.json")],
      message: /--config .*array\.json: expected a JSON object/,
    },
    {
      name: "unknown config key",
      args: ["--config", json("unknown-key.json")],
      message: /--config .*unknown-key\.json: unknown key "sslCertificate"/,
    },
    {
      name: "config value of the wrong type",
      args: ["--config", json("wrong-type.json")],
      message: /--config .*wrong-type\.json: key "port": expected a port number/,
    },
    {
      name: "missing config file",
      args: ["--config", json("absent.json")],
      message: /--config .*absent\.json: cannot read/,
    },
    {
      name: "bad LTICTR_* value",
      args: [],
      env: { LTICTR_PORT: "eighty" },
      message: /environment variable LTICTR_PORT: expected a port number \(0-65535\), got "eighty"/,
    },
    {
      name: "bad --log-level",
      args: ["--log-level", "loud"],
      message: /--log-level must be one of .*'loud'/,
    },
    { name: "bad --log-format", args: ["--log-format", "xml"], message: /--log-format.*'xml'.*text, json/ },
    {
      name: "custom header without colon",
      args: ["--custom-header", "X-No-Colon"],
      message: /A colon was expected in custom header: X-No-Colon/,
    },
    {
      name: "custom header with a bad name",
      args: ["--custom-header", "Bad Name: 1"],
      message: /Invalid header name in custom header: Bad Name: 1/,
    },
    {
      name: "default target that is not a URL",
      args: ["--default-target", "127.0.0.1 8081"],
      message: /--default-target must be a URL/,
    },
    {
      name: "default target whose port was left blank (an unset variable in a template)",
      args: ["--default-target", "http://127.0.0.1:"],
      message: /--default-target has a ':' with no port after it, got 'http:\/\/127\.0\.0\.1:'/,
    },
    {
      name: "error target with a blank port before its path",
      args: ["--error-target", "https://[::1]:/errors"],
      message: /--error-target has a ':' with no port after it/,
    },
    {
      name: "--moodle-url without a token",
      args: ["--moodle-url", "https://moodle.example.org/moodle"],
      message: /--moodle-url needs a token/,
    },
    {
      name: "--moodle-url with a query",
      args: ["--moodle-url", "https://moodle.example.org/moodle?x=1"],
      env: { LTICTR_MOODLE_TOKEN: "configured-token" },
      message: /--moodle-url must be the Moodle wwwroot without credentials, query or fragment/,
    },
    {
      name: "--custom-header that would frame the request",
      args: ["--custom-header", "Transfer-Encoding: chunked"],
      message: /Custom header transfer-encoding cannot be set/,
    },
    {
      name: "--custom-header with a control character",
      args: ["--custom-header", "X-A: a\u0001b"],
      message: /Invalid character in the value of custom header x-a/,
    },
    {
      name: "a Redis URL that cannot be parsed",
      args: ["--storage-backend", "redis://user:secret@[bad"],
      message: /--storage-backend: Invalid Redis URL .*not a URL/,
    },
  ];
  for (const testCase of cases) {
    await t.test(testCase.name, async (t) => {
      const ports = ["--port", String(await freePort()), "--api-port", String(await freePort())];
      // Loopback and free ports in case a refusal fails and the proxy starts; cases about ports bring their own.
      const args = testCase.args.some((arg) => arg === "--port" || arg === "--api-port")
        ? ["--ip", "127.0.0.1", "--api-ip", "127.0.0.1", ...testCase.args]
        : ["--ip", "127.0.0.1", "--api-ip", "127.0.0.1", ...ports, ...testCase.args];
      expectOneLine(t, await runToExit(t, args, testCase.env), 1, testCase.message);
    });
  }

  const legacyCases: Array<{ name: string; args: string[]; message: RegExp }> = [
    { name: "legacy -u", args: ["-u", "nobody"], message: /-u is not supported: .*systemd/ },
    {
      name: "legacy --conf that cannot be read",
      args: ["--conf", json("absent.conf")],
      message: /ltictr_proxy configuration .*absent\.conf: cannot read/,
    },
    {
      name: "legacy -c with the C default certificate paths absent",
      args: ["-c"],
      message: /--ssl-cert \/etc\/pki\/tls\/certs\/server\.pem: cannot read/,
    },
    {
      name: "legacy unknown argument",
      args: ["-x"],
      message: /unknown argument -x; usage: ltictr_proxy_server/,
    },
  ];
  for (const testCase of legacyCases) {
    await t.test(testCase.name, async (t) => {
      const pid = ["--pid", join(dir, "refused.pid")];
      const args = ["-p", String(await freePort()), "-a", String(await freePort()), ...pid, ...testCase.args];
      expectOneLine(t, await runToExit(t, args, { LTICTR_IP: "127.0.0.1" }), 1, testCase.message);
    });
  }
});

t.test("a port already in use: exit 3 with one clear line", async (t) => {
  const blocker: Server = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  t.teardown(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
  const taken = (blocker.address() as { port: number }).port;
  const dir = t.testdir();
  const ca = CertificateAuthority.root(dir, "busy-ca");
  const server = ca.server("server");

  const listeners: Array<{ name: string; args: () => Promise<string[]> }> = [
    {
      name: "public port",
      args: async () => ["--port", String(taken), "--api-port", String(await freePort())],
    },
    {
      name: "API port",
      args: async () => ["--port", String(await freePort()), "--api-port", String(taken)],
    },
    {
      name: "metrics port",
      args: async () => [
        "--port",
        String(await freePort()),
        "--api-port",
        String(await freePort()),
        "--metrics-ip",
        "127.0.0.1",
        "--metrics-port",
        String(taken),
      ],
    },
    {
      name: "redirect port",
      args: async () => [
        "--port",
        String(await freePort()),
        "--api-port",
        String(await freePort()),
        "--ssl-cert",
        server.cert,
        "--ssl-key",
        server.key,
        "--redirect-port",
        String(taken),
      ],
    },
  ];
  for (const listener of listeners) {
    await t.test(listener.name, async (t) => {
      const args = ["--ip", "127.0.0.1", "--api-ip", "127.0.0.1", ...(await listener.args())];
      expectOneLine(t, await runToExit(t, args), 3, new RegExp(`EADDRINUSE.*127\\.0\\.0\\.1:${taken}`));
    });
  }
});
