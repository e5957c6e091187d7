import { join, resolve } from "node:path";
import { isLogLevel } from "../log/logger.js";
import { LAUNCH_COOKIE_KEY_FILE } from "../lti/launch-cookie.js";
import { keyLayout } from "../routing/redis/key-layout.js";
import { isRedisUrl, parseRedisUrl } from "../routing/redis/redis-url.js";
import type { Config, ErrorPages, RouteStorage, TlsFiles } from "./config.js";
import { ConfigError } from "./config-error.js";
import { readOptionFile } from "./option-file.js";
import type { ListenSpec } from "./listen-spec.js";
import { OPTIONS, type OptionName, type OptionValues } from "./options.js";

/** CHP's `--custom-header` rule: split at the first colon, trim both sides. Framing headers are refused. */
export function parseCustomHeader(value: string): readonly [string, string] {
  const trimmed = value.trim();
  const colon = trimmed.indexOf(":");
  if (colon <= 0) throw new ConfigError(`A colon was expected in custom header: ${value}`);
  const name = trimmed.slice(0, colon).trim().toLowerCase();
  if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name))
    throw new ConfigError(`Invalid header name in custom header: ${value}`);
  const headerValue = trimmed.slice(colon + 1).trim();
  // A header value with CR, LF or NUL would split the request that carries it; other control bytes are refused
  // by every HTTP parser on the way.
  if (hasControlCharacter(headerValue))
    throw new ConfigError(`Invalid character in the value of custom header ${name}`);
  // These decide how the request body is framed, or which connection carries it: set by the proxy, never by
  // configuration (a configured Transfer-Encoding would desynchronise the upstream connection).
  if (FRAMING_HEADERS.has(name))
    throw new ConfigError(`Custom header ${name} cannot be set: the proxy frames requests`);
  return [name, headerValue];
}

/** Control characters other than HTAB. */
function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return true;
  }
  return false;
}

const FRAMING_HEADERS = new Set([
  "transfer-encoding",
  "content-length",
  "connection",
  "keep-alive",
  "upgrade",
  "te",
  "trailer",
  "host",
]);

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
  // The URL standard reads `http://host:` as the scheme's default port; written out, it is a port left blank (an
  // unset variable in a template), which would send the traffic to port 80 or 443 without a word.
  if (
    (url.protocol === "http:" || url.protocol === "https:") &&
    /^[a-z]+:\/\/[^/?#]*:(?:[/?#]|$)/i.test(value)
  ) {
    throw new ConfigError(`${option} has a ':' with no port after it, got '${value}'`);
  }
}

/** A Moodle wwwroot: http(s), no credentials, query or fragment (the REST path and query are appended to it). */
function checkMoodleUrl(value: string | undefined): void {
  checkUrl("--moodle-url", value, ["http:", "https:"]);
  if (value === undefined) return;
  const url = new URL(value);
  if (url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "")
    throw new ConfigError(`--moodle-url must be the Moodle wwwroot without credentials, query or fragment`);
}

/** `redis://` and `rediss://` name the built-in Redis store; anything else is a module (CHP's contract). */
function routeStorage(values: OptionValues): RouteStorage {
  const backend = values.storageBackend;
  if (!backend) return { kind: "memory" };
  if (!isRedisUrl(backend)) return { kind: "module", module: backend };
  try {
    parseRedisUrl(backend);
    keyLayout(valueOf(values, "storageKeyPrefix"));
  } catch (error) {
    // The messages name the problem without the password.
    throw new ConfigError(`--storage-backend: ${(error as Error).message}`);
  }
  return { kind: "redis", url: backend, keyPrefix: valueOf(values, "storageKeyPrefix") };
}

function errorPages(values: OptionValues): ErrorPages {
  if (values.errorTarget && values.errorPath)
    throw new ConfigError("Cannot specify both error-target and error-path. Pick one.");
  if (values.errorTarget)
    return {
      kind: "target",
      url: values.errorTarget.endsWith("/") ? values.errorTarget : `${values.errorTarget}/`,
    };
  if (values.errorPath) return { kind: "path", dir: values.errorPath };
  return { kind: "built-in" };
}

function publicTls(values: OptionValues, env: NodeJS.ProcessEnv): TlsFiles | undefined {
  if (!values.sslKey && !values.sslCert && !values.sslSelfSigned) return undefined;
  return {
    key: values.sslKey,
    cert: values.sslCert,
    chain: values.sslChain,
    ca: values.sslCa,
    dhparam: values.sslDhparam,
    passphrase: env.CONFIGPROXY_SSL_KEY_PASSPHRASE,
    ciphers: values.sslCiphers,
    protocol: values.sslProtocol,
    requestCert: values.sslRequestCert,
    rejectUnauthorized: values.sslRejectUnauthorized,
    optionPrefix: "--ssl",
  };
}

function apiTls(values: OptionValues, env: NodeJS.ProcessEnv): TlsFiles | undefined {
  if (!values.apiSslKey && !values.apiSslCert) return undefined;
  return {
    key: values.apiSslKey,
    cert: values.apiSslCert,
    ca: values.apiSslCa,
    passphrase: env.CONFIGPROXY_API_SSL_KEY_PASSPHRASE,
    ciphers: values.sslCiphers,
    protocol: values.sslProtocol,
    requestCert: values.apiSslRequestCert,
    rejectUnauthorized: values.apiSslRejectUnauthorized,
    optionPrefix: "--api-ssl",
  };
}

/** Defaults of the table for whatever the layers left unset. */
function withDefaults(values: OptionValues): OptionValues {
  const complete: Record<string, unknown> = { ...values };
  for (const [name, spec] of Object.entries(OPTIONS)) {
    if (complete[name] !== undefined) continue;
    if ("negatable" in spec && spec.negatable) complete[name] = true;
    else if ("default" in spec)
      complete[name] = Array.isArray(spec.default) ? [...spec.default] : spec.default;
  }
  return complete as OptionValues;
}

/** A value the table gives a default, so it is always set once `withDefaults` has run. */
function valueOf<K extends OptionName>(values: OptionValues, name: K): NonNullable<OptionValues[K]> {
  const value = values[name];
  if (value === undefined || value === null) throw new Error(`option table: ${name} has no default`);
  return value;
}

/** Checks the resolved option values against each other and turns them into a Config. Throws ConfigError. */
export function resolveConfig(given: OptionValues, env: NodeJS.ProcessEnv): Config {
  const values = withDefaults(given);
  const customHeaders = valueOf(values, "customHeader").map(parseCustomHeader);
  const level = valueOf(values, "logLevel");
  if (!isLogLevel(level)) {
    throw new ConfigError(
      `--log-level must be one of error, warn, info, http, verbose, debug, silly; got '${level}'`,
    );
  }
  const tlsPublic = publicTls(values, env);
  if (values.redirectPort !== undefined && !tlsPublic) {
    throw new ConfigError("HTTPS redirection specified but certificates not provided.");
  }
  const forwardTargets = ["http:", "https:", "http+unix:", "unix+http:"];
  checkUrl("--default-target", values.defaultTarget, forwardTargets);
  checkUrl("--error-target", values.errorTarget, forwardTargets);
  checkMoodleUrl(values.moodleUrl);
  const allowOrigins = valueOf(values, "moodleAllow");
  for (const origin of allowOrigins) checkUrl("--moodle-allow", origin, ["http:", "https:"]);

  let ip = values.ip ?? "";
  if (ip === "*") ip = "";
  const port = valueOf(values, "port");
  const publicListen: ListenSpec = values.socket
    ? { kind: "unix", path: values.socket }
    : { kind: "tcp", host: ip, port };
  const apiListen: ListenSpec = values.apiSocket
    ? { kind: "unix", path: values.apiSocket }
    : {
        kind: "tcp",
        host: valueOf(values, "apiIp"),
        port: values.apiPort ?? (values.socket ? 8001 : port + 1),
      };
  let metricsListen: ListenSpec | undefined;
  if (values.metricsSocket) metricsListen = { kind: "unix", path: values.metricsSocket };
  else if (values.metricsPort !== undefined)
    metricsListen = { kind: "tcp", host: valueOf(values, "metricsIp"), port: values.metricsPort };

  const moodleToken = values.moodleTokenFile
    ? readOptionFile("--moodle-token-file", values.moodleTokenFile).toString("utf8").trim()
    : env.LTICTR_MOODLE_TOKEN || undefined;
  if (values.moodleUrl && !moodleToken) {
    throw new ConfigError("--moodle-url needs a token: --moodle-token-file <file> or LTICTR_MOODLE_TOKEN");
  }
  const dataDir = resolve(values.dataDir ?? env.STATE_DIRECTORY ?? "var");
  const headersTimeout = valueOf(values, "headersTimeout");
  const requestTimeout = valueOf(values, "requestTimeout");
  // Node refuses a server whose headers may take longer than the whole request.
  if (requestTimeout > 0 && headersTimeout > requestTimeout)
    throw new ConfigError(
      `--headers-timeout (${headersTimeout}) cannot be longer than --request-timeout (${requestTimeout})`,
    );
  const delivered = Boolean(values.moodleUrl) || allowOrigins.length > 0;
  return {
    dataDir,
    log: {
      level,
      format: values.logFormat === "json" ? "json" : "text",
      accessLog: Boolean(values.accessLog),
    },
    listen: {
      public: publicListen,
      api: apiListen,
      metrics: metricsListen,
      redirect:
        values.redirectPort === undefined ? undefined : { port: values.redirectPort, to: values.redirectTo },
      pidFile: values.pidFile,
    },
    tls: { public: tlsPublic, selfSigned: Boolean(values.sslSelfSigned), api: apiTls(values, env) },
    server: {
      keepAliveTimeoutMs: valueOf(values, "keepAliveTimeout"),
      clientIdleTimeoutMs: values.timeout || undefined,
      shutdownTimeoutMs: valueOf(values, "shutdownTimeout"),
      headersTimeoutMs: valueOf(values, "headersTimeout"),
      requestTimeoutMs: valueOf(values, "requestTimeout"),
      requestBodyTimeoutMs: valueOf(values, "requestBodyTimeout"),
    },
    routes: {
      storage: routeStorage(values),
      defaultTarget: values.defaultTarget,
      hostRouting: Boolean(values.hostRouting),
      apiToken: env.CONFIGPROXY_AUTH_TOKEN || undefined,
    },
    upstream: {
      clientKeyFile: values.clientSslKey,
      clientCertFile: values.clientSslCert,
      clientCaFile: values.clientSslCa,
      insecure: Boolean(values.insecure),
      responseTimeoutMs: values.proxyTimeout ?? 0,
      maxConnections: valueOf(values, "upstreamMaxConnections"),
      clientSharePercent: valueOf(values, "upstreamClientShare"),
      queueLimit: valueOf(values, "upstreamQueueLimit"),
      queueTimeoutMs: valueOf(values, "upstreamQueueTimeout"),
      websocketHoldMs: valueOf(values, "websocketHold"),
    },
    forwarding: {
      xForward: values.xForward !== false,
      changeOrigin: Boolean(values.changeOrigin),
      customHeaders,
      prependPath: values.prependPath !== false,
      includePrefix: values.includePrefix !== false,
      autoRewrite: Boolean(values.autoRewrite),
      protocolRewrite: values.protocolRewrite,
      errorPages: errorPages(values),
      dropClientForwarded: Boolean(values.dropClientForwarded),
    },
    capture: {
      launchCookieKeyFile: resolve(values.launchCookieKeyFile ?? join(dataDir, LAUNCH_COOKIE_KEY_FILE)),
      legacyLmsCookies: Boolean(values.legacyLmsCookies),
      recordsFile: values.recordsFile,
      socketMemoryBytes: valueOf(values, "captureSocketMemory"),
      memoryBytes: valueOf(values, "captureMemory"),
    },
    delivery: delivered
      ? {
          moodle:
            values.moodleUrl && moodleToken ? { baseUrl: values.moodleUrl, token: moodleToken } : undefined,
          allowOrigins,
          multiRecord: Boolean(values.moodleMultiRecord),
          batchSize: valueOf(values, "deliveryBatchSize"),
          batchAgeMs: valueOf(values, "deliveryBatchAge"),
          concurrency: valueOf(values, "deliveryConcurrency"),
          spoolMaxBytes: valueOf(values, "spoolMaxBytes"),
        }
      : undefined,
    admin:
      values.adminPort === undefined
        ? undefined
        : { listen: { kind: "tcp", host: valueOf(values, "adminIp"), port: values.adminPort } },
    spawner: values.engineSocket
      ? { engineSocket: resolve(values.engineSocket), policyFile: values.spawnerPolicy }
      : undefined,
  };
}
