import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { CliOptions } from "../cli/options.js";
import type { ListenSpec } from "../listener/listen.js";
import { isLogLevel } from "../log/logger.js";
import { ConfigError } from "./config-error.js";

/** Everything the running proxy needs, validated: what the command line, environment and files resolve to. */
export interface Settings {
  options: CliOptions;
  publicListen: ListenSpec;
  apiListen: ListenSpec;
  metricsListen?: ListenSpec;
  authToken?: string;
  customHeaders: Array<readonly [string, string]>;
  dataDir: string;
  moodleToken?: string;
}

/** CHP's `--custom-header` rule: split at the first colon, trim both sides. */
export function parseCustomHeader(value: string): readonly [string, string] {
  const trimmed = value.trim();
  const colon = trimmed.indexOf(":");
  if (colon <= 0) throw new ConfigError(`A colon was expected in custom header: ${value}`);
  const name = trimmed.slice(0, colon).trim().toLowerCase();
  if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name))
    throw new ConfigError(`Invalid header name in custom header: ${value}`);
  return [name, trimmed.slice(colon + 1).trim()];
}

function checkUrl(option: string, value: string | undefined, schemes: string[]): void {
  if (value === undefined) return;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${option} must be a URL, got '${value}'`);
  }
  if (!schemes.includes(url.protocol)) {
    throw new ConfigError(`${option} must use ${schemes.join(" or ")}, got '${value}'`);
  }
}

function readSecretFile(option: string, file: string): string {
  try {
    return readFileSync(file, "utf8").trim();
  } catch (error) {
    throw new ConfigError(`${option}: cannot read ${file}: ${(error as Error).message}`);
  }
}

export function resolveSettings(options: CliOptions, env: NodeJS.ProcessEnv): Settings {
  const customHeaders = options.customHeader.map(parseCustomHeader);
  if (!isLogLevel(options.logLevel)) {
    throw new ConfigError(
      `--log-level must be one of error, warn, info, http, verbose, debug, silly; got '${options.logLevel}'`,
    );
  }
  if (options.errorTarget && options.errorPath) {
    throw new ConfigError("Cannot specify both error-target and error-path. Pick one.");
  }
  const tls = Boolean(options.sslKey || options.sslCert || options.sslSelfSigned);
  if (options.redirectPort !== undefined && !tls) {
    throw new ConfigError("HTTPS redirection specified but certificates not provided.");
  }
  checkUrl("--default-target", options.defaultTarget, ["http:", "https:", "http+unix:", "unix+http:"]);
  checkUrl("--error-target", options.errorTarget, ["http:", "https:", "http+unix:", "unix+http:"]);
  checkUrl("--moodle-url", options.moodleUrl, ["http:", "https:"]);
  for (const origin of options.moodleAllow) checkUrl("--moodle-allow", origin, ["http:", "https:"]);

  let ip = options.ip ?? "";
  if (ip === "*") ip = "";
  const port = options.port ?? 8000;
  const publicListen: ListenSpec = options.socket
    ? { kind: "unix", path: options.socket }
    : { kind: "tcp", host: ip, port };
  const apiListen: ListenSpec = options.apiSocket
    ? { kind: "unix", path: options.apiSocket }
    : { kind: "tcp", host: options.apiIp, port: options.apiPort ?? (options.socket ? 8001 : port + 1) };
  let metricsListen: ListenSpec | undefined;
  if (options.metricsSocket) metricsListen = { kind: "unix", path: options.metricsSocket };
  else if (options.metricsPort !== undefined)
    metricsListen = { kind: "tcp", host: options.metricsIp, port: options.metricsPort };

  const moodleToken = options.moodleTokenFile
    ? readSecretFile("--moodle-token-file", options.moodleTokenFile)
    : env.LTICTR_MOODLE_TOKEN || undefined;
  if (options.moodleUrl && !moodleToken) {
    throw new ConfigError("--moodle-url needs a token: --moodle-token-file <file> or LTICTR_MOODLE_TOKEN");
  }
  return {
    options,
    publicListen,
    apiListen,
    metricsListen,
    authToken: env.CONFIGPROXY_AUTH_TOKEN || undefined,
    customHeaders,
    dataDir: resolve(options.dataDir ?? env.STATE_DIRECTORY ?? "var"),
    moodleToken,
  };
}
