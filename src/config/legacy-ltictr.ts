import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { ConfigError } from "./config-error.js";

/**
 * Compatibility with the C `ltictr_proxy_server`: its `ltictr_proxy.conf` and its
 * command line, turned into this proxy's CHP-style flags so an existing unit file only changes the binary's path.
 */

/** The C proxy's built-in values (`ltictr_proxy_server.c:55-64`). */
export const LTICTR_DEFAULTS = {
  pidFile: "/var/run/ltictr_proxy.pid",
  sslCert: "/etc/pki/tls/certs/server.pem",
  sslKey: "/etc/pki/tls/private/key.pem",
  authToken: "default_token",
} as const;

/**
 * Parses the C format: `key = value` per line, split at the first `=`, both trimmed (runs of blanks in a value become
 * one space, as the C reader packs them); blank lines and lines starting with `#` are skipped. Keys are
 * case-insensitive and the first occurrence wins, as in the C lookup (`buffer_key_tList(..., 1)`). Lines without `=`
 * are ignored like the C reader ignores them.
 */
export function parseLtictrConf(text: string): Record<string, string> {
  const entries = new Map<string, [string, string]>();
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.replace(/[\t ]+/g, " ").trim();
    if (line === "" || line.startsWith("#")) continue;
    const separator = line.indexOf("=");
    if (separator < 0) continue;
    const key = line.slice(0, separator).trim();
    const value = line.slice(separator + 1).trim();
    if (key === "" || entries.has(key.toLowerCase())) continue;
    entries.set(key.toLowerCase(), [key, value]);
  }
  return Object.fromEntries(entries.values());
}

export function readLtictrConf(path: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError(`ltictr_proxy configuration ${path}: cannot read (${reason})`);
  }
  return parseLtictrConf(text);
}

/** What a `ltictr_proxy.conf` can set, in this proxy's option names. */
export interface LtictrConfSettings {
  sslCert?: string;
  sslKey?: string;
  sslChain?: string;
  pidFile?: string;
  /** Becomes `CONFIGPROXY_AUTH_TOKEN`. */
  authToken?: string;
  /** Path appended to Moodle's wwwroot (`/webservice/rest/server.php`). */
  restPath?: string;
  /** Moodle web-service function (`mod_lticontainer_write_nblogs`). */
  restService?: string;
}

const CONF_KEYS: Record<string, keyof LtictrConfSettings> = {
  ltictr_server_cert: "sslCert",
  ltictr_private_key: "sslKey",
  ltictr_server_chain: "sslChain",
  ltictr_pid_file: "pidFile",
  ltictr_api_token: "authToken",
  rest_path: "restPath",
  rest_service: "restService",
};

/** Keys the C proxy knows that have no meaning here. */
const IGNORED_CONF_KEYS: Record<string, string> = {
  ltictr_api_pid_file: "the REST API runs inside the proxy process, there is no separate API PID file",
  rest_httpver: "Moodle requests use HTTP/1.1 with keep-alive",
  rest_response: "Moodle's responses are always checked (see the delivery log)",
};

/** Maps conf keys to settings; keys it cannot use come back as warnings (never printing values: they may be secrets). */
export function ltictrConfSettings(conf: Record<string, string>): {
  settings: LtictrConfSettings;
  warnings: string[];
} {
  const settings: LtictrConfSettings = {};
  const warnings: string[] = [];
  for (const [key, value] of Object.entries(conf)) {
    const lower = key.toLowerCase();
    const name = CONF_KEYS[lower];
    if (name) {
      if (value !== "") settings[name] = value;
    } else if (IGNORED_CONF_KEYS[lower]) {
      warnings.push(`ltictr_proxy.conf key ${key} is ignored: ${IGNORED_CONF_KEYS[lower]}`);
    } else {
      warnings.push(`ltictr_proxy.conf key ${key} is unknown and ignored`);
    }
  }
  return { settings, warnings };
}

/** Options of `ltictr_proxy_server` that this proxy's own command line does not have. */
const LEGACY_ONLY = new Set([
  "-p",
  "-c",
  "-a",
  "-u",
  "-d",
  "-n",
  "--noexecapi",
  "--chunked",
  "--conf",
  "--cert",
  "--key",
  "--chain",
  "--pid",
]);

/**
 * True when `argv` (without node and script) is a `ltictr_proxy_server` command line, or the program was started under
 * that name. `-h` is the C proxy's hub URL when followed by a value, CHP's help otherwise.
 */
export function isLegacyInvocation(argv: readonly string[], programName?: string): boolean {
  if (programName !== undefined && basename(programName).startsWith("ltictr_proxy_server")) return true;
  return argv.some((arg, index) => {
    if (LEGACY_ONLY.has(arg)) return true;
    const next = argv[index + 1];
    return arg === "-h" && next !== undefined && !next.startsWith("-");
  });
}

export interface LegacyTranslation {
  /** This proxy's flags. */
  args: string[];
  /** Environment to add (`CONFIGPROXY_AUTH_TOKEN`). */
  env: Record<string, string>;
  /** Settings for the Moodle sender from `Rest_Path` / `Rest_Service`. */
  restPath?: string;
  restService?: string;
  /** Things the operator should know; the caller logs them. */
  warnings: string[];
}

const USAGE =
  "usage: ltictr_proxy_server -p client_side_port [-c] [-h host_url[:port]] [-a [api_url:]port] [-d] [--noexecapi]" +
  " [--chunked] [--conf config_file] [--cert cert_file] [--key key_file] [--chain chain_file] [--pid pid_file]";

function parsePort(flag: string, value: string): number {
  const port = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigError(`${flag} ${JSON.stringify(value)}: expected a port number (1-65535)`);
  }
  return port;
}

/** `-h URL[:PORT]`: `http://` added when there is no scheme; without a port the listen port is used (C: `cport = sport`). */
export function legacyHubUrl(value: string, listenPort: number): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ConfigError(
      `-h ${JSON.stringify(value)}: not a host URL (expected host[:port] or http://host[:port])`,
    );
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.hostname === "") {
    throw new ConfigError(
      `-h ${JSON.stringify(value)}: not a host URL (expected host[:port] or http://host[:port])`,
    );
  }
  // URL drops the port when it is the scheme's default; the C proxy's rule only applies when none was written.
  const portWritten = /^[a-z][a-z0-9+.-]*:\/\/(\[[^\]]*\]|[^/:?#]*):\d+/i.test(withScheme);
  const port = portWritten ? url.port || (url.protocol === "https:" ? "443" : "80") : String(listenPort);
  const path = url.pathname === "/" ? "" : url.pathname;
  return `${url.protocol}//${url.hostname}:${port}${path}`;
}

/**
 * `-a [URL:]PORT`. The C API server listened on all interfaces whatever host was written; here it binds to that host,
 * and to 127.0.0.1 when the host is empty or `localhost`, so the route table is no longer open to the network.
 */
export function legacyApiAddress(value: string): { ip: string; port: number; tls: boolean } {
  const match = /^(?:(https?):\/\/)?(?:(\[[^\]]*\]|[^:/]*):)?(\d+)\/?$/i.exec(value.trim());
  if (!match) {
    throw new ConfigError(
      `-a ${JSON.stringify(value)}: expected [url:]port, e.g. 8001 or http://127.0.0.1:8001`,
    );
  }
  const host = (match[2] ?? "").toLowerCase();
  return {
    ip: host === "" || host === "localhost" ? "127.0.0.1" : host.replace(/^\[(.*)\]$/, "$1"),
    port: parsePort("-a", match[3] ?? ""),
    tls: (match[1] ?? "").toLowerCase() === "https",
  };
}

type LegacyValueName = "hub" | "api" | "conf" | "cert" | "key" | "chain" | "pid";

interface LegacyFlags {
  port?: number;
  tls: boolean;
  debug: boolean;
  noExecApi: boolean;
  version: boolean;
  values: Partial<Record<LegacyValueName, string>>;
}

const VALUE_FLAGS: Record<string, LegacyValueName | "port"> = {
  "-p": "port",
  "-h": "hub",
  "-a": "api",
  "--conf": "conf",
  "--config": "conf",
  "--cert": "cert",
  "--key": "key",
  "--chain": "chain",
  "--pid": "pid",
};

function parseLegacyArgv(argv: readonly string[], warnings: string[]): LegacyFlags {
  const flags: LegacyFlags = { tls: false, debug: false, noExecApi: false, version: false, values: {} };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const valueFlag = VALUE_FLAGS[arg];
    if (valueFlag) {
      const value = argv[i + 1];
      if (value === undefined) throw new ConfigError(`${arg} needs a value; ${USAGE}`);
      i++;
      if (valueFlag === "port") flags.port = parsePort("-p", value);
      else flags.values[valueFlag] = value;
    } else if (arg === "-c") flags.tls = true;
    else if (arg === "-d") flags.debug = true;
    else if (arg === "-n" || arg === "--noexecapi") flags.noExecApi = true;
    else if (arg === "--version") flags.version = true;
    else if (arg === "-u") {
      throw new ConfigError(
        "-u is not supported: start ltictr-proxy as an unprivileged user with systemd User= or DynamicUser= and" +
          " AmbientCapabilities=CAP_NET_BIND_SERVICE (see systemd/ltictr-proxy.service)",
      );
    } else if (arg === "--chunked") {
      // Chunked relaying was already the C default; nothing to translate.
    } else if (arg.startsWith("-")) throw new ConfigError(`unknown argument ${arg}; ${USAGE}`);
    else warnings.push(`ignoring stray argument ${JSON.stringify(arg)} (ltictr_proxy_server ignores it too)`);
  }
  return flags;
}

/**
 * Turns a `ltictr_proxy_server` command line into this proxy's flags. As in the C proxy, values from the `--conf` file
 * override those on the command line (the C proxy reads the file after its flags) and `-c` uses the C default certificate paths when none are configured.
 * `env` is the current environment, consulted for an already set `CONFIGPROXY_AUTH_TOKEN`.
 */
export function translateLegacyArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): LegacyTranslation {
  const warnings: string[] = [];
  const flags = parseLegacyArgv(argv, warnings);
  if (flags.version) return { args: ["--version"], env: {}, warnings };
  if (flags.port === undefined) throw new ConfigError(`-p <port> is required; ${USAGE}`);

  let conf: LtictrConfSettings = {};
  if (flags.values.conf !== undefined) {
    const mapped = ltictrConfSettings(readLtictrConf(flags.values.conf));
    conf = mapped.settings;
    warnings.push(...mapped.warnings);
  }
  const given = flags.values;
  const cert = conf.sslCert ?? given.cert ?? LTICTR_DEFAULTS.sslCert;
  const key = conf.sslKey ?? given.key ?? LTICTR_DEFAULTS.sslKey;
  const chain = conf.sslChain ?? given.chain;

  const args = ["--port", String(flags.port)];
  if (flags.tls) {
    args.push("--ssl-cert", cert, "--ssl-key", key);
    if (chain) args.push("--ssl-chain", chain);
  } else if (given.cert || given.key || given.chain || conf.sslCert || conf.sslKey || conf.sslChain) {
    warnings.push(
      "a certificate is configured but -c is not given: serving plain HTTP, as ltictr_proxy_server does",
    );
  }

  if (given.api !== undefined) {
    const api = legacyApiAddress(given.api);
    args.push("--api-ip", api.ip, "--api-port", String(api.port));
    if (api.tls) {
      args.push("--api-ssl-cert", cert, "--api-ssl-key", key);
      if (chain)
        warnings.push("the certificate chain is not sent on the https API port, only the certificate");
    }
    if (api.ip !== "127.0.0.1" && api.ip !== "::1") {
      warnings.push(
        `the REST API listens on ${api.ip} only (ltictr_proxy_server listened on all interfaces)`,
      );
    }
  } else {
    // Without -a the C proxy had no API; the built-in one (port + 1) stays local.
    args.push("--api-ip", "127.0.0.1");
  }
  if (flags.noExecApi) {
    warnings.push(
      "-n/--noexecapi: the REST API is built into ltictr-proxy; stop any separate ltictr_api_server",
    );
  }

  if (given.hub !== undefined) args.push("--default-target", legacyHubUrl(given.hub, flags.port));
  args.push("--pid-file", conf.pidFile ?? given.pid ?? LTICTR_DEFAULTS.pidFile);
  if (flags.debug) args.push("--log-level", "debug");

  const extraEnv: Record<string, string> = {};
  if (conf.authToken !== undefined) extraEnv.CONFIGPROXY_AUTH_TOKEN = conf.authToken;
  else if (!env.CONFIGPROXY_AUTH_TOKEN) {
    extraEnv.CONFIGPROXY_AUTH_TOKEN = LTICTR_DEFAULTS.authToken;
    warnings.push(
      "no LTICTR_API_Token configured: the REST API uses ltictr_proxy_server's default token; set one",
    );
  }

  const translation: LegacyTranslation = { args, env: extraEnv, warnings };
  if (conf.restPath !== undefined) translation.restPath = conf.restPath;
  if (conf.restService !== undefined) translation.restService = conf.restService;
  return translation;
}
