import { readFileSync } from "node:fs";
import { isLogLevel } from "../log/logger.js";
import { ConfigError } from "./config-error.js";
import { ltictrConfSettings, readLtictrConf } from "./legacy-ltictr.js";

/**
 * This proxy's own configuration sources besides the command line: a JSON file (`--config file.json`; a `.conf` path
 * is read as the C proxy's format) and `LTICTR_<OPTION>` environment variables. Keys are the long option names in
 * camelCase, as commander names them (`--ssl-cert` → `sslCert`, `--no-x-forward` → `xForward: false`). The caller
 * merges: flags > environment > config file > defaults.
 */

export type ConfigValueType = "string" | "integer" | "port" | "boolean" | "list";
export type ConfigValue = string | number | boolean | string[];

export interface ConfigKey {
  type: ConfigValueType;
  /** The command-line option; absent for settings only a file or the environment may carry (secrets). */
  flag?: string;
  choices?: readonly string[];
  /** Checked in addition to the type (e.g. log level names). */
  check?: (value: string) => boolean;
  /** Never echoed in error messages. */
  secret?: boolean;
  description: string;
}

const s = (flag: string, description: string): ConfigKey => ({ type: "string", flag, description });
const b = (flag: string, description: string): ConfigKey => ({ type: "boolean", flag, description });
const n = (flag: string, description: string): ConfigKey => ({ type: "integer", flag, description });
const p = (flag: string, description: string): ConfigKey => ({ type: "port", flag, description });

/** Every key a config file or `LTICTR_*` variable may set, with its type. */
export const CONFIG_KEYS = {
  ip: s("--ip", "public bind address; empty = all interfaces"),
  port: p("--port", "public port (8000)"),
  socket: s("--socket", "public UNIX socket instead of ip:port"),
  apiIp: s("--api-ip", "REST API bind address (localhost)"),
  apiPort: p("--api-port", "REST API port (port + 1)"),
  apiSocket: s("--api-socket", "REST API UNIX socket"),
  defaultTarget: s("--default-target", "target of the / route"),
  errorTarget: s("--error-target", "server asked for error pages"),
  errorPath: s("--error-path", "folder with <code>.html error pages"),
  sslKey: s("--ssl-key", "public TLS private key (PEM)"),
  sslCert: s("--ssl-cert", "public TLS certificate (PEM, may hold the chain)"),
  sslChain: s("--ssl-chain", "intermediate certificates appended to sslCert"),
  sslCa: s("--ssl-ca", "CA for client certificates"),
  sslRequestCert: b("--ssl-request-cert", "ask clients for a certificate"),
  sslRejectUnauthorized: b("--ssl-reject-unauthorized", "refuse clients without a valid certificate"),
  sslProtocol: s("--ssl-protocol", "pin one TLS version (TLSv1_2 / TLSv1.2, TLSv1_3)"),
  sslCiphers: s("--ssl-ciphers", "OpenSSL cipher list"),
  sslAllowRc4: b("--ssl-allow-rc4", "accepted and ignored, as in CHP"),
  sslDhparam: s("--ssl-dhparam", "DH parameters file"),
  sslSelfSigned: b("--ssl-self-signed", "generate a certificate into the data dir when none is given"),
  apiSslKey: s("--api-ssl-key", "REST API TLS private key"),
  apiSslCert: s("--api-ssl-cert", "REST API TLS certificate"),
  apiSslCa: s("--api-ssl-ca", "CA for REST API client certificates"),
  apiSslRequestCert: b("--api-ssl-request-cert", "REST API asks for client certificates"),
  apiSslRejectUnauthorized: b("--api-ssl-reject-unauthorized", "REST API refuses unauthenticated clients"),
  clientSslKey: s("--client-ssl-key", "key presented to https upstreams"),
  clientSslCert: s("--client-ssl-cert", "certificate presented to https upstreams"),
  clientSslCa: s("--client-ssl-ca", "CA trusted for https upstreams"),
  clientSslRequestCert: b("--client-ssl-request-cert", "accepted and ignored, as in CHP"),
  clientSslRejectUnauthorized: b("--client-ssl-reject-unauthorized", "accepted and ignored, as in CHP"),
  redirectPort: p("--redirect-port", "plain-HTTP port redirecting to HTTPS"),
  redirectTo: p("--redirect-to", "port written into the redirect (the public port)"),
  pidFile: s("--pid-file", "write the process id here"),
  xForward: b("--x-forward", "add X-Forwarded-* headers (true; false = --no-x-forward)"),
  prependPath: b("--prepend-path", "prepend the target's path (true)"),
  includePrefix: b("--include-prefix", "keep the route prefix in the forwarded path (true)"),
  autoRewrite: b("--auto-rewrite", "rewrite host:port of Location headers"),
  changeOrigin: b("--change-origin", "send the target's host as Host"),
  protocolRewrite: s("--protocol-rewrite", "rewrite the scheme of Location headers"),
  customHeader: {
    type: "list",
    flag: "--custom-header",
    description: "extra request headers, 'name: value'",
  },
  insecure: b("--insecure", "do not verify https upstream certificates"),
  hostRouting: b("--host-routing", "route by Host first"),
  logLevel: {
    type: "string",
    flag: "--log-level",
    check: isLogLevel,
    description: "error, warn, info, debug",
  },
  logFormat: { type: "string", flag: "--log-format", choices: ["text", "json"], description: "text or json" },
  accessLog: b("--access-log", "log every proxied request"),
  timeout: n("--timeout", "client idle timeout (ms)"),
  proxyTimeout: n("--proxy-timeout", "upstream response timeout (ms)"),
  keepAliveTimeout: n("--keep-alive-timeout", "keep-alive timeout of the public server (ms)"),
  shutdownTimeout: n("--shutdown-timeout", "drain time on SIGTERM (ms)"),
  storageBackend: s("--storage-backend", "route store module"),
  metricsIp: s("--metrics-ip", "metrics bind address"),
  metricsPort: p("--metrics-port", "Prometheus /metrics port"),
  metricsSocket: s("--metrics-socket", "metrics UNIX socket"),
  dataDir: s("--data-dir", "state folder: spool, secrets, generated certificates"),
  recordsFile: s("--records-file", "also append every captured record here (JSON lines)"),
  moodleUrl: s("--moodle-url", "Moodle wwwroot receiving the records"),
  moodleTokenFile: s("--moodle-token-file", "file holding the Moodle web-service token"),
  moodleToken: { type: "string", secret: true, description: "the Moodle web-service token itself" },
  moodleAllow: {
    type: "list",
    flag: "--moodle-allow",
    description: "origins allowed as Moodle from LTI launches",
  },
  moodleMultiRecord: b("--moodle-multi-record", "send several records per web-service call"),
  restPath: { type: "string", description: "web-service path under the Moodle wwwroot (C: Rest_Path)" },
  restService: { type: "string", description: "web-service function (C: Rest_Service)" },
  deliveryBatchSize: n("--delivery-batch-size", "records per delivery batch"),
  deliveryBatchAge: n("--delivery-batch-age", "longest wait before a batch is sent (ms)"),
  deliveryConcurrency: n("--delivery-concurrency", "parallel Moodle requests"),
  spoolMaxBytes: n("--spool-max-bytes", "spool size limit (bytes)"),
  legacyLmsCookies: b("--legacy-lms-cookies", "also accept the C proxy's lms_* cookies"),
  authToken: { type: "string", secret: true, description: "REST API token (CONFIGPROXY_AUTH_TOKEN wins)" },
} as const satisfies Record<string, ConfigKey>;

export type ConfigKeyName = keyof typeof CONFIG_KEYS;
export type ConfigValues = Partial<Record<ConfigKeyName, ConfigValue>>;

function isConfigKey(name: string): name is ConfigKeyName {
  return Object.hasOwn(CONFIG_KEYS, name);
}

const squash = (name: string) => name.replace(/[-_]/g, "").toLowerCase();

function suggestion(name: string): string {
  const match = Object.keys(CONFIG_KEYS).find((key) => squash(key) === squash(name.replace(/^-+/, "")));
  return match ? ` (did you mean "${match}"?)` : "";
}

function expected(spec: ConfigKey): string {
  switch (spec.type) {
    case "port":
      return "a port number (0-65535)";
    case "integer":
      return "a whole number >= 0";
    case "boolean":
      return "true or false";
    case "list":
      return "a list of strings";
    case "string":
      return spec.choices ? `one of ${spec.choices.join(", ")}` : "a string";
  }
}

function show(spec: ConfigKey, value: unknown): string {
  return spec.secret ? "(hidden)" : JSON.stringify(value);
}

function checkString(where: string, spec: ConfigKey, value: string): string {
  if ((spec.choices && !spec.choices.includes(value)) || (spec.check && !spec.check(value))) {
    throw new ConfigError(`${where}: expected ${expected(spec)}, got ${show(spec, value)}`);
  }
  return value;
}

function checkInteger(where: string, spec: ConfigKey, value: number): number {
  const valid =
    Number.isSafeInteger(value) && (spec.type === "port" ? value >= 0 && value <= 65535 : value >= 0);
  if (!valid) throw new ConfigError(`${where}: expected ${expected(spec)}, got ${show(spec, value)}`);
  return value;
}

/** A JSON value checked against the key's type; JSON numbers for numbers, booleans for booleans. */
function fromJson(where: string, spec: ConfigKey, value: unknown): ConfigValue {
  const wrong = () => new ConfigError(`${where}: expected ${expected(spec)}, got ${show(spec, value)}`);
  switch (spec.type) {
    case "string":
      if (typeof value !== "string") throw wrong();
      return checkString(where, spec, value);
    case "integer":
    case "port":
      if (typeof value !== "number") throw wrong();
      return checkInteger(where, spec, value);
    case "boolean":
      if (typeof value !== "boolean") throw wrong();
      return value;
    case "list":
      if (typeof value === "string") return [value];
      if (!Array.isArray(value) || !value.every((item): item is string => typeof item === "string"))
        throw wrong();
      return [...value];
  }
}

const TRUE_WORDS = new Set(["true", "1", "yes", "on"]);
const FALSE_WORDS = new Set(["false", "0", "no", "off"]);

/** An environment string checked against the key's type. */
function fromEnv(where: string, spec: ConfigKey, raw: string): ConfigValue {
  const wrong = () => new ConfigError(`${where}: expected ${expected(spec)}, got ${show(spec, raw)}`);
  const value = raw.trim();
  switch (spec.type) {
    case "string":
      return checkString(where, spec, raw);
    case "integer":
    case "port":
      if (!/^\d+$/.test(value)) throw wrong();
      return checkInteger(where, spec, Number(value));
    case "boolean":
      if (TRUE_WORDS.has(value.toLowerCase())) return true;
      if (FALSE_WORDS.has(value.toLowerCase())) return false;
      throw wrong();
    case "list":
      if (value.startsWith("[")) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(value);
        } catch {
          throw new ConfigError(`${where}: a value starting with [ must be a JSON array of strings`);
        }
        return fromJson(where, spec, parsed);
      }
      return value
        .split(",")
        .map((item) => item.trim())
        .filter((item) => item !== "");
  }
}

/** `MOODLE_URL` → `moodleUrl`. */
function envNameToKey(name: string): string {
  return name.toLowerCase().replace(/_([a-z0-9])/g, (_match, letter: string) => letter.toUpperCase());
}

/** `moodleUrl` → `LTICTR_MOODLE_URL`. */
export function envVariableFor(key: ConfigKeyName): string {
  return `LTICTR_${key.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase()}`;
}

const ENV_PREFIX = "LTICTR_";

export interface ReadConfigOptions {
  /** Receives notes about ignored settings (unknown `LTICTR_*` variables, unused `.conf` keys). */
  warn?: (message: string) => void;
}

/**
 * Settings from `LTICTR_<UPPER_SNAKE_OPTION>` variables (`LTICTR_PORT=443`, `LTICTR_MOODLE_URL=…`,
 * `LTICTR_MOODLE_TOKEN=…`). Empty variables count as unset; lists are comma-separated or a JSON array. A bad value is
 * a ConfigError. An unknown `LTICTR_*` name is only warned about: the environment is shared with other programs
 * (test harnesses mark their processes with `LTICTR_E2E_HUB`), and the warning still shows a typo.
 */
export function readEnvConfig(
  env: NodeJS.ProcessEnv = process.env,
  options: ReadConfigOptions = {},
): ConfigValues {
  const values: ConfigValues = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || raw === undefined || raw === "") continue;
    const key = envNameToKey(name.slice(ENV_PREFIX.length));
    if (!isConfigKey(key) || envVariableFor(key) !== name) {
      options.warn?.(
        `environment variable ${name} is not a setting of ltictr-proxy and is ignored${suggestion(key)}`,
      );
      continue;
    }
    values[key] = fromEnv(`environment variable ${name}`, CONFIG_KEYS[key], raw);
  }
  return values;
}

function parseJsonConfig(path: string, text: string): ConfigValues {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(
      `--config ${path}: invalid JSON (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`--config ${path}: expected a JSON object of settings`);
  }
  const values: ConfigValues = {};
  for (const [name, value] of Object.entries(parsed)) {
    // JSON has no comments; "//" keys are the usual stand-in.
    if (name.startsWith("//")) continue;
    if (!isConfigKey(name))
      throw new ConfigError(`--config ${path}: unknown key "${name}"${suggestion(name)}`);
    if (value === null) continue;
    values[name] = fromJson(`--config ${path}: key "${name}"`, CONFIG_KEYS[name], value);
  }
  return values;
}

/** Reads `--config <path>`: JSON, or the C `ltictr_proxy.conf` format when the name ends in `.conf`. */
export function readConfigFile(path: string, options: ReadConfigOptions = {}): ConfigValues {
  if (path.endsWith(".conf")) {
    const { settings, warnings } = ltictrConfSettings(readLtictrConf(path));
    for (const warning of warnings) options.warn?.(warning);
    return { ...settings };
  }
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(
      `--config ${path}: cannot read (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  return parseJsonConfig(path, text);
}
