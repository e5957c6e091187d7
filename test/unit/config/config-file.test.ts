import t from "tap";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { readConfigFile, readEnvConfig } from "../../../src/config/config-file.js";
import { OPTIONS, envVariableFor, type OptionName, type OptionSpec } from "../../../src/config/options.js";
import { ltictrConfSettings, readLtictrConf } from "../../../src/config/legacy-ltictr.js";
import { buildCommand } from "../../../src/config/command-line.js";

const checkout = (path: string) => fileURLToPath(new URL(`../../../../${path}`, import.meta.url));

t.test("OPTIONS covers exactly the command-line options, under commander's names", async (t) => {
  const program = buildCommand("0.0.0");
  const fromCli = new Map(
    program.options
      .filter((option) => !["version", "help", "config"].includes(option.attributeName()))
      .map((option) => [option.attributeName(), option.long ?? ""]),
  );
  const withFlag = Object.entries(OPTIONS).filter(([, spec]) => "flag" in spec);
  t.same(withFlag.map(([key]) => key).sort(), [...fromCli.keys()].sort());
  for (const [key, spec] of withFlag) {
    const flag = "flag" in spec ? spec.flag : "";
    t.equal(fromCli.get(key)?.replace(/^--no-/, "--"), flag, `${key} ↔ ${flag}`);
  }
  const fileOnly = Object.entries(OPTIONS)
    .filter(([, spec]) => !("flag" in spec))
    .map(([key]) => key);
  t.same(fileOnly.sort(), ["authToken", "moodleToken", "restPath", "restService"]);
});

const dir = t.testdir({
  "good.json": JSON.stringify({
    "//": "comments live in keys starting with //",
    port: 443,
    ip: "",
    sslCert: "/etc/ltictr-proxy/tls/fullchain.pem",
    xForward: false,
    customHeader: ["X-Frame-Options: SAMEORIGIN", "X-A: b"],
    moodleAllow: "https://moodle.example",
    logLevel: "DEBUG",
    logFormat: "json",
    deliveryBatchSize: 50,
    metricsPort: 0,
    errorPath: null,
  }),
  "unknown.json": JSON.stringify({ "ssl-cert": "/x" }),
  "unknown-plain.json": JSON.stringify({ bogus: 1 }),
  "port-string.json": JSON.stringify({ port: "443" }),
  "port-range.json": JSON.stringify({ port: 70000 }),
  "float.json": JSON.stringify({ timeout: 1.5 }),
  "bool.json": JSON.stringify({ insecure: "yes" }),
  "list.json": JSON.stringify({ customHeader: ["ok: 1", 2] }),
  "format.json": JSON.stringify({ logFormat: "xml" }),
  "level.json": JSON.stringify({ logLevel: "loud" }),
  "secret.json": JSON.stringify({ authToken: 12345678 }),
  "broken.json": '{ "port": 443, }',
  "array.json": "[]",
  "legacy.conf":
    "LTICTR_API_Token = ABCDEFG\nLTICTR_Server_Cert = /c.pem\nLTICTR_Private_Key=/k.pem\nRest_HTTPver = 1.1\n",
});

t.test("reads a JSON config file", async (t) => {
  t.same(readConfigFile(`${dir}/good.json`), {
    port: 443,
    ip: "",
    sslCert: "/etc/ltictr-proxy/tls/fullchain.pem",
    xForward: false,
    customHeader: ["X-Frame-Options: SAMEORIGIN", "X-A: b"],
    moodleAllow: ["https://moodle.example"],
    logLevel: "DEBUG",
    logFormat: "json",
    deliveryBatchSize: 50,
    metricsPort: 0,
  });
});

t.test("reads a .conf path in the C format", async (t) => {
  const warnings: string[] = [];
  const values = readConfigFile(`${dir}/legacy.conf`, { warn: (message) => warnings.push(message) });
  t.same(values, { authToken: "ABCDEFG", sslCert: "/c.pem", sslKey: "/k.pem" });
  t.same(warnings, [
    "ltictr_proxy.conf key Rest_HTTPver is ignored: Moodle requests use HTTP/1.1 with keep-alive",
  ]);
});

t.test("config file errors name the file and the key", async (t) => {
  const cases: Array<[string, RegExp]> = [
    ["unknown.json", /unknown\.json: unknown key "ssl-cert" \(did you mean "sslCert"\?\)$/],
    ["unknown-plain.json", /unknown-plain\.json: unknown key "bogus"$/],
    ["port-string.json", /port-string\.json: key "port": expected a port number \(0-65535\), got "443"$/],
    ["port-range.json", /key "port": expected a port number \(0-65535\), got 70000$/],
    ["float.json", /key "timeout": expected a whole number >= 0, got 1\.5$/],
    ["bool.json", /key "insecure": expected true or false, got "yes"$/],
    ["list.json", /key "customHeader": expected a list of strings, got \["ok: 1",2\]$/],
    ["format.json", /key "logFormat": expected one of text, json, got "xml"$/],
    ["level.json", /key "logLevel": expected a string, got "loud"$/],
    ["secret.json", /key "authToken": expected a string, got \(hidden\)$/],
    ["broken.json", /broken\.json: invalid JSON \(/],
    ["array.json", /array\.json: expected a JSON object of settings$/],
    ["missing.json", /missing\.json: cannot read \(ENOENT/],
    ["missing.conf", /missing\.conf: cannot read \(ENOENT/],
  ];
  for (const [file, message] of cases) {
    t.throws(() => readConfigFile(`${dir}/${file}`), { name: "ConfigError", message }, file);
  }
});

t.test("reads LTICTR_* environment variables", async (t) => {
  const values = readEnvConfig({
    LTICTR_PORT: "443",
    LTICTR_MOODLE_URL: "https://moodle.example/moodle",
    LTICTR_MOODLE_TOKEN: "tok",
    LTICTR_X_FORWARD: "off",
    LTICTR_SSL_SELF_SIGNED: "Yes",
    LTICTR_MOODLE_ALLOW: "https://a.example, https://b.example,",
    LTICTR_CUSTOM_HEADER: '["X-A: 1, 2", "X-B: 3"]',
    LTICTR_API_SSL_CA: "/ca.pem",
    LTICTR_LOG_LEVEL: "",
    CONFIGPROXY_AUTH_TOKEN: "not ours",
    PATH: "/usr/bin",
  });
  t.same(values, {
    port: 443,
    moodleUrl: "https://moodle.example/moodle",
    moodleToken: "tok",
    xForward: false,
    sslSelfSigned: true,
    moodleAllow: ["https://a.example", "https://b.example"],
    customHeader: ["X-A: 1, 2", "X-B: 3"],
    apiSslCa: "/ca.pem",
  });
});

t.test("environment errors name the variable", async (t) => {
  const cases: Array<[NodeJS.ProcessEnv, RegExp]> = [
    [
      { LTICTR_PORT: "44 3" },
      /^environment variable LTICTR_PORT: expected a port number \(0-65535\), got "44 3"$/,
    ],
    [{ LTICTR_TIMEOUT: "-1" }, /^environment variable LTICTR_TIMEOUT: expected a whole number >= 0/],
    [
      { LTICTR_INSECURE: "maybe" },
      /^environment variable LTICTR_INSECURE: expected true or false, got "maybe"$/,
    ],
    [{ LTICTR_LOG_FORMAT: "xml" }, /^environment variable LTICTR_LOG_FORMAT: expected one of text, json/],
    [
      { LTICTR_CUSTOM_HEADER: "[oops" },
      /^environment variable LTICTR_CUSTOM_HEADER: a value starting with \[ must be a JSON array/,
    ],
    [
      { LTICTR_CUSTOM_HEADER: "[1]" },
      /^environment variable LTICTR_CUSTOM_HEADER: expected a list of strings/,
    ],
  ];
  for (const [env, message] of cases) {
    t.throws(() => readEnvConfig(env), { name: "ConfigError", message }, Object.keys(env)[0]);
  }
});

t.test("unknown LTICTR_* variables are warned about, not fatal", async (t) => {
  const warnings: string[] = [];
  const values = readEnvConfig(
    { LTICTR_E2E_HUB: "/tmp/x", LTICTR_MOODLEURL: "x", LTICTR_moodle_url: "y", LTICTR_PORT: "8000" },
    { warn: (message) => warnings.push(message) },
  );
  t.same(values, { port: 8000 });
  t.same(warnings, [
    "environment variable LTICTR_E2E_HUB is not a setting of ltictr-proxy and is ignored",
    'environment variable LTICTR_MOODLEURL is not a setting of ltictr-proxy and is ignored (did you mean "moodleUrl"?)',
    'environment variable LTICTR_moodle_url is not a setting of ltictr-proxy and is ignored (did you mean "moodleUrl"?)',
  ]);
  t.doesNotThrow(() => readEnvConfig({ LTICTR_E2E_HUB: "/tmp/x" }), "no warn callback: silently ignored");
});

t.test("every key has an environment name that maps back to it", async (t) => {
  for (const key of Object.keys(OPTIONS) as OptionName[]) {
    const name = envVariableFor(key);
    t.match(name, /^LTICTR_[A-Z0-9_]+$/);
    const spec: OptionSpec = OPTIONS[key];
    const value =
      spec.type === "boolean" ? "true" : spec.type === "string" ? "text" : String(Math.max(1, spec.min ?? 0));
    const logValues: Record<string, string> = { logLevel: "info", logFormat: "text" };
    t.ok(key in readEnvConfig({ [name]: logValues[key] ?? value }), `${name} → ${key}`);
  }
  t.equal(envVariableFor("moodleToken"), "LTICTR_MOODLE_TOKEN", "the token variable of the CLI contract");
});

t.test("the shipped example config is valid and every key is documented", async (t) => {
  const example = checkout("config/ltictr-proxy.example.json");
  const values = readConfigFile(example);
  t.ok(Object.keys(values).length >= 10, "a meaningful example");
  const readme = readFileSync(checkout("config/README.md"), "utf8");
  for (const key of Object.keys(OPTIONS))
    t.match(readme, new RegExp(`\\b${key}\\b`), `README documents ${key}`);
});

t.test("the shipped legacy example parses without unknown keys", async (t) => {
  const conf = readLtictrConf(checkout("config/ltictr_proxy.conf.example"));
  const { settings, warnings } = ltictrConfSettings(conf);
  t.same(
    Object.keys(settings).sort(),
    ["authToken", "sslCert", "sslKey"],
    "only the keys the C example enables",
  );
  t.same(warnings, []);
});
