import t, { type Test } from "tap";
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { PROXY_BIN } from "../support/proxy-process.js";
import { translateLegacyArgs } from "../../src/config/legacy-ltictr.js";

const checkout = (path: string) => fileURLToPath(new URL(`../../../${path}`, import.meta.url));
const UNIT = checkout("systemd/ltictr-proxy.service");
const DROP_IN = checkout("systemd/ltictr_proxy.service.d/ltictr-proxy.conf");
const REPLICA_UNIT = checkout("systemd/ltictr-proxy@.service");
const INSTALLED_BIN = "/usr/local/bin/ltictr-proxy";
/** How this checkout's proxy is started, standing in for the installed bin (verify checks the binary exists). */
const CHECKOUT_BIN = `${process.execPath} ${PROXY_BIN}`;

interface Run {
  code: number;
  output: string;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { env: { ...process.env, ...env }, timeout: 30000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
      resolve({ code, output: `${stdout}${stderr}`.trim() });
    });
  });
}

/** `[Section]` → key → values, in order (systemd allows repeated keys). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current = new Map<string, string[]>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      current = new Map();
      sections.set(section[1] ?? "", current);
      continue;
    }
    const equals = line.indexOf("=");
    const key = line.slice(0, equals).trim();
    current.set(key, [...(current.get(key) ?? []), line.slice(equals + 1).trim()]);
  }
  return sections;
}

t.test("systemd-analyze works in this environment", async (t) => {
  const version = await run("systemd-analyze", ["--version"]);
  t.equal(version.code, 0, version.output);
  // The control: verify must be able to fail, or its passing says nothing.
  const dir = t.testdir({ "broken.service": "[Service]\nExecStart=/nonexistent/binary\nBogusKey=1\n" });
  const broken = await run("systemd-analyze", ["verify", "--man=no", `${dir}/broken.service`]);
  t.not(broken.code, 0);
  t.match(broken.output, /Unknown key 'BogusKey'|is not executable/);
});

t.test("ltictr-proxy.service is a non-root, sandboxed unit for port 443", async (t) => {
  const unit = parseUnit(readFileSync(UNIT, "utf8"));
  const service = unit.get("Service");
  t.ok(service, "has [Service]");
  const one = (key: string) => service?.get(key)?.at(-1);
  t.equal(one("ExecStart"), `${INSTALLED_BIN} --port 443 --config /etc/ltictr-proxy/ltictr-proxy.json`);
  t.equal(one("DynamicUser"), "yes");
  t.not(one("User"), "root");
  t.equal(one("AmbientCapabilities"), "CAP_NET_BIND_SERVICE");
  t.equal(one("CapabilityBoundingSet"), "CAP_NET_BIND_SERVICE");
  t.equal(one("NoNewPrivileges"), "yes");
  t.equal(one("StateDirectory"), "ltictr-proxy");
  t.equal(one("ConfigurationDirectory"), "ltictr-proxy");
  t.equal(one("EnvironmentFile"), "-/etc/ltictr-proxy/env");
  t.equal(one("ProtectSystem"), "strict");
  t.equal(one("ProtectHome"), "yes");
  t.equal(one("PrivateTmp"), "yes");
  t.match(one("RestrictAddressFamilies"), /^AF_INET AF_INET6 AF_UNIX$/);
  t.ok(service?.get("SystemCallFilter")?.includes("@system-service"));
  t.notOk(service?.has("MemoryDenyWriteExecute"), "V8's JIT needs W+X memory");
  t.equal(one("Restart"), "on-failure");
  t.equal(one("ExecReload"), "/bin/kill -HUP $MAINPID");
  t.equal(one("KillSignal"), "SIGTERM");
  t.match(one("SuccessExitStatus"), /(^|\s)2(\s|$)/);
  t.ok(one("TimeoutStopSec"));
  t.equal(unit.get("Install")?.get("WantedBy")?.[0], "multi-user.target");
});

t.test("systemd-analyze verify accepts the unit (ExecStart pointed at this checkout)", async (t) => {
  const text = readFileSync(UNIT, "utf8");
  t.equal(text.split(`ExecStart=${INSTALLED_BIN} `).length, 2, "one ExecStart with the installed bin");
  const copy = `${t.testdir()}/ltictr-proxy.service`;
  writeFileSync(copy, text.replace(`ExecStart=${INSTALLED_BIN} `, `ExecStart=${CHECKOUT_BIN} `));
  const verify = await run("systemd-analyze", ["verify", "--man=no", copy]);
  t.equal(verify.code, 0, verify.output);
  t.equal(verify.output, "", "no warnings either");

  const security = await run("systemd-analyze", ["security", "--offline=yes", "--threshold=20", copy]);
  t.equal(
    security.code,
    0,
    `exposure at most 2.0 ("OK"):\n${security.output.split("\n").slice(-3).join("\n")}`,
  );
});

t.test(
  "ltictr-proxy@.service: one replica per instance, own data dir, shared launch-cookie key",
  async (t) => {
    const text = readFileSync(REPLICA_UNIT, "utf8");
    const service = parseUnit(text).get("Service");
    const exec = service?.get("ExecStart")?.at(-1) ?? "";
    t.match(exec, "--config /etc/ltictr-proxy/replica-%i.json", "a settings file per replica");
    t.match(exec, "--data-dir %S/ltictr-proxy/replica-%i", "its own spool");
    t.match(
      exec,
      "--launch-cookie-key-file %S/ltictr-proxy/shared/launch-cookie.key",
      "one key for the replicas",
    );
    t.equal(service?.get("StateDirectory")?.at(-1), "ltictr-proxy/replica-%i ltictr-proxy/shared");
    t.equal(
      service?.get("DynamicUser")?.at(-1),
      "yes",
      "instances share the dynamic user's uid, so both read the key",
    );
    // Everything else is the single unit's: the same sandbox and lifecycle.
    const single = parseUnit(readFileSync(UNIT, "utf8")).get("Service");
    for (const key of [
      "AmbientCapabilities",
      "ProtectSystem",
      "SystemCallFilter",
      "SuccessExitStatus",
      "ExecReload",
    ])
      t.same(service?.get(key), single?.get(key), key);

    const dir = t.testdir();
    writeFileSync(
      `${dir}/ltictr-proxy@.service`,
      text.replace(`ExecStart=${INSTALLED_BIN} `, `ExecStart=${CHECKOUT_BIN} `),
    );
    const verify = await run("systemd-analyze", ["verify", "--man=no", `${dir}/ltictr-proxy@2.service`], {
      SYSTEMD_UNIT_PATH: `${dir}:`,
    });
    t.equal(verify.code, 0, verify.output);
    t.equal(verify.output, "", "no warnings either");
    const security = await run(
      "systemd-analyze",
      ["security", "--offline=yes", "--threshold=20", `${dir}/ltictr-proxy@2.service`],
      {
        SYSTEMD_UNIT_PATH: `${dir}:`,
      },
    );
    t.equal(security.code, 0, security.output.split("\n").slice(-3).join("\n"));
  },
);

/** The C project's unit, which the drop-in is written for. */
const C_UNIT = `[Unit]
Description = LTICTR Proxy Server
After = network.target

[Service]
Environment = SVRPORT=443
Environment = APIPORT=8001
User=root
PIDFile = /run/ltictr_proxy.pid
ExecStart = /usr/local/bin/ltictr_proxy_server -a \${APIPORT} -p \${SVRPORT} -c --conf /usr/local/etc/ltictr/ltictr_proxy.conf
ExecStartPost = /bin/systemctl restart jupyterhub
WorkingDirectory = /tmp
Restart = always

[Install]
WantedBy = multi-user.target
`;

async function verifyWithDropIn(t: Test, binary: string): Promise<Run> {
  const dir = t.testdir();
  mkdirSync(`${dir}/ltictr_proxy.service.d`);
  writeFileSync(
    `${dir}/ltictr_proxy.service`,
    C_UNIT.replace("/usr/local/bin/ltictr_proxy_server", "/bin/true"),
  );
  const dropIn = readFileSync(DROP_IN, "utf8").replace(`ExecStart=${INSTALLED_BIN} `, `ExecStart=${binary} `);
  writeFileSync(`${dir}/ltictr_proxy.service.d/ltictr-proxy.conf`, dropIn);
  // The trailing ':' keeps the default search path behind ours, so the drop-in folder is found.
  return run("systemd-analyze", ["verify", "--man=no", `${dir}/ltictr_proxy.service`], {
    SYSTEMD_UNIT_PATH: `${dir}:`,
  });
}

t.test("the drop-in switches a C ltictr_proxy.service to ltictr-proxy", async (t) => {
  const good = await verifyWithDropIn(t, CHECKOUT_BIN);
  t.equal(good.code, 0, good.output);
  t.equal(good.output, "");
  const control = await verifyWithDropIn(t, "/nonexistent/ltictr-proxy");
  t.not(control.code, 0, "the drop-in is really read (a missing binary in it fails verify)");

  const dropIn = parseUnit(readFileSync(DROP_IN, "utf8")).get("Service");
  t.same(dropIn?.get("ExecStart")?.[0], "", "clears the C ExecStart first");
  t.equal(dropIn?.get("ExecReload")?.[0], "/bin/kill -HUP $MAINPID");
  t.equal(dropIn?.get("SuccessExitStatus")?.[0], "2");

  // Its flags, as systemd expands them with the C unit's Environment=, translate cleanly.
  const conf = `${t.testdir({ "ltictr_proxy.conf": "LTICTR_API_Token = ABCDEFG\n" })}/ltictr_proxy.conf`;
  const command = (dropIn?.get("ExecStart")?.[1] ?? "")
    .replace("${APIPORT}", "8001")
    .replace("${SVRPORT}", "443")
    .replace("/usr/local/etc/ltictr/ltictr_proxy.conf", conf)
    .split(/\s+/);
  t.equal(command[0], INSTALLED_BIN);
  const translation = translateLegacyArgs(command.slice(1), {});
  t.same(translation.args, [
    "--port",
    "443",
    "--ssl-cert",
    "/etc/pki/tls/certs/server.pem",
    "--ssl-key",
    "/etc/pki/tls/private/key.pem",
    "--api-ip",
    "127.0.0.1",
    "--api-port",
    "8001",
    "--pid-file",
    "/var/run/ltictr_proxy.pid",
  ]);
  t.same(translation.env, { CONFIGPROXY_AUTH_TOKEN: "ABCDEFG" });
});
