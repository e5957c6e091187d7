import { isLogLevel } from "../log/logger.js";

/**
 * Every setting of the proxy, once: the command line (commander), the `--config` file keys, the `LTICTR_*`
 * environment variables and the defaults are all made from this table. Keys are the long option names in
 * camelCase, as commander names them (`--ssl-cert` → `sslCert`, `--no-x-forward` → `xForward: false`).
 * The first block is configurable-http-proxy 5.3's command line with CHP's names, help texts and defaults;
 * then the options of the ltictr role and of the companions.
 */

export type OptionType = "string" | "integer" | "port" | "boolean" | "list";

export interface OptionSpec {
  readonly type: OptionType;
  /** The long flag (for a negatable switch, its positive form); absent for settings only a file or the environment may carry. */
  readonly flag?: string;
  /** The argument's name in `--help`, e.g. `<keyfile>`. */
  readonly placeholder?: string;
  /** A switch that is on by default; the command line turns it off with `--no-<name>`. */
  readonly negatable?: boolean;
  readonly help: string;
  readonly default?: string | number | boolean | readonly string[];
  /** Bounds of an integer (inclusive). */
  readonly min?: number;
  readonly max?: number;
  readonly choices?: readonly string[];
  /** Checked in addition to the type (e.g. log level names). */
  readonly check?: (value: string) => boolean;
  /** Options (camelCase) that cannot be combined with this one on the command line. */
  readonly conflicts?: readonly string[];
  /** Never echoed in error messages. */
  readonly secret?: boolean;
}

const MAX_MS = 2_147_483_647;

type Extra = Omit<Partial<OptionSpec>, "type" | "flag" | "placeholder" | "help">;

const text = (flag: string, placeholder: string, help: string, extra: Extra = {}) => ({
  type: "string" as const,
  flag,
  placeholder,
  help,
  ...extra,
});
const toggle = (flag: string, help: string) => ({ type: "boolean" as const, flag, help });
const port = (flag: string, placeholder: string, help: string, extra: Extra = {}) => ({
  type: "port" as const,
  flag,
  placeholder,
  help,
  min: 0,
  max: 65535,
  ...extra,
});
const ms = (flag: string, placeholder: string, help: string, extra: Extra = {}) => ({
  type: "integer" as const,
  flag,
  placeholder,
  help,
  min: 0,
  max: MAX_MS,
  ...extra,
});

export const OPTIONS = {
  // configurable-http-proxy 5.3
  ip: text("--ip", "<ip-address>", "Public-facing IP of the proxy (all interfaces when empty)"),
  port: port("--port", "<n>", "Public-facing port of the proxy (defaults to 8000)", { default: 8000 }),
  socket: text("--socket", "<path>", "Path to a UNIX domain socket for the proxy", {
    conflicts: ["port", "ip"],
  }),
  sslKey: text("--ssl-key", "<keyfile>", "SSL key to use, if any"),
  sslCert: text("--ssl-cert", "<certfile>", "SSL certificate to use, if any"),
  sslCa: text("--ssl-ca", "<ca-file>", "SSL certificate authority, if any"),
  sslChain: text("--ssl-chain", "<chain-file>", "Intermediate certificates appended to --ssl-cert"),
  sslRequestCert: toggle("--ssl-request-cert", "Request SSL certs to authenticate clients"),
  sslRejectUnauthorized: toggle(
    "--ssl-reject-unauthorized",
    "Reject unauthorized SSL connections (only meaningful if --ssl-request-cert is set)",
  ),
  sslProtocol: text(
    "--ssl-protocol",
    "<ssl-protocol>",
    "Minimum TLS protocol (TLSv1_2 or TLSv1.2 style; default TLSv1.2)",
  ),
  sslCiphers: text("--ssl-ciphers", "<ciphers>", "`:`-separated ssl cipher list. Default excludes RC4"),
  sslAllowRc4: toggle("--ssl-allow-rc4", "Accepted for compatibility; RC4 stays disabled"),
  sslDhparam: text("--ssl-dhparam", "<dhparam-file>", "SSL Diffie-Helman Parameters pem file, if any"),
  sslSelfSigned: toggle(
    "--ssl-self-signed",
    "Serve HTTPS with a generated self-signed certificate when none is given",
  ),
  apiIp: text("--api-ip", "<ip>", "Inward-facing IP for API requests", { default: "localhost" }),
  apiPort: port("--api-port", "<n>", "Inward-facing port for API requests (defaults to --port=value+1)"),
  apiSocket: text("--api-socket", "<path>", "Path to a UNIX domain socket for the API", {
    conflicts: ["apiPort", "apiIp"],
  }),
  apiSslKey: text("--api-ssl-key", "<keyfile>", "SSL key to use, if any, for API requests"),
  apiSslCert: text("--api-ssl-cert", "<certfile>", "SSL certificate to use, if any, for API requests"),
  apiSslCa: text("--api-ssl-ca", "<ca-file>", "SSL certificate authority, if any, for API requests"),
  apiSslRequestCert: toggle(
    "--api-ssl-request-cert",
    "Request SSL certs to authenticate clients for API requests",
  ),
  apiSslRejectUnauthorized: toggle(
    "--api-ssl-reject-unauthorized",
    "Reject unauthorized SSL connections for API requests",
  ),
  clientSslKey: text("--client-ssl-key", "<keyfile>", "SSL key to use, if any, for proxy to client requests"),
  clientSslCert: text(
    "--client-ssl-cert",
    "<certfile>",
    "SSL certificate to use, if any, for proxy to client requests",
  ),
  clientSslCa: text(
    "--client-ssl-ca",
    "<ca-file>",
    "SSL certificate authority, if any, for proxy to client requests",
  ),
  clientSslRequestCert: toggle(
    "--client-ssl-request-cert",
    "Accepted for compatibility (no effect, as in CHP)",
  ),
  clientSslRejectUnauthorized: toggle(
    "--client-ssl-reject-unauthorized",
    "Accepted for compatibility (no effect, as in CHP)",
  ),
  defaultTarget: text("--default-target", "<host>", "Default proxy target (proto://host[:port])"),
  errorTarget: text(
    "--error-target",
    "<host>",
    "Alternate server for handling proxy errors (proto://host[:port])",
  ),
  errorPath: text("--error-path", "<path>", "Alternate folder for the error pages (<code>.html, error.html)"),
  redirectPort: port(
    "--redirect-port",
    "<redirect-port>",
    "Redirect HTTP requests on this port to the server on HTTPS",
  ),
  redirectTo: port("--redirect-to", "<port>", "Redirect HTTP requests from --redirect-port to this port"),
  pidFile: text("--pid-file", "<pid-file>", "Write our PID to a file"),
  xForward: {
    type: "boolean",
    flag: "--x-forward",
    negatable: true,
    help: "Don't add 'X-forward-' headers to proxied requests",
  },
  prependPath: {
    type: "boolean",
    flag: "--prepend-path",
    negatable: true,
    help: "Avoid prepending target paths to proxied requests",
  },
  includePrefix: {
    type: "boolean",
    flag: "--include-prefix",
    negatable: true,
    help: "Don't include the routing prefix in proxied requests",
  },
  autoRewrite: toggle("--auto-rewrite", "Rewrite the Location header host/port in redirect responses"),
  changeOrigin: toggle("--change-origin", "Changes the origin of the host header to the target URL"),
  protocolRewrite: text(
    "--protocol-rewrite",
    "<proto>",
    "Rewrite the Location header protocol in redirect responses to the specified protocol",
  ),
  customHeader: {
    type: "list",
    flag: "--custom-header",
    placeholder: "<header>",
    help: "Custom header to add to proxied requests. Use same option for multiple headers (--custom-header k1:v1 --custom-header k2:v2)",
    default: [],
  },
  insecure: toggle("--insecure", "Disable SSL cert verification of upstream servers"),
  hostRouting: toggle("--host-routing", "Use host routing (host as first level of path)"),
  metricsIp: text("--metrics-ip", "<ip>", "IP for metrics server", { default: "" }),
  metricsPort: port(
    "--metrics-port",
    "<n>",
    "Port of metrics server. Defines if metrics server will be started",
  ),
  metricsSocket: text("--metrics-socket", "<path>", "Path to a UNIX domain socket for metrics", {
    conflicts: ["metricsPort", "metricsIp"],
  }),
  logLevel: text("--log-level", "<loglevel>", "Log level (debug, info, warn, error)", {
    default: "info",
    check: isLogLevel,
  }),
  logFormat: text("--log-format", "<format>", "Log format", { choices: ["text", "json"], default: "text" }),
  accessLog: toggle("--access-log", "Log every proxied request at info level"),
  timeout: ms("--timeout", "<n>", "Timeout (in millis) when proxy drops connection for a request."),
  proxyTimeout: ms(
    "--proxy-timeout",
    "<n>",
    "Timeout (in millis) when proxy receives no response from target.",
  ),
  storageBackend: text(
    "--storage-backend",
    "<storage-class>",
    "Define an external storage class (a module, or redis://[user:pass@]host:port/db). Defaults to in-MemoryStore.",
  ),
  keepAliveTimeout: ms(
    "--keep-alive-timeout",
    "<timeout>",
    "Set timeout (in milliseconds) for Keep-Alive connections",
    { default: 5000 },
  ),

  // The ltictr role and the proxy's own operation.
  dropClientForwarded: toggle(
    "--drop-client-forwarded",
    "Drop client-sent X-Real-IP, X-Scheme, Forwarded and X-Forwarded-Host (upstreams with Tornado's xheaders trust them)",
  ),
  headersTimeout: ms(
    "--headers-timeout",
    "<ms>",
    "Longest time a client may take to send a request's headers",
    {
      default: 60_000,
    },
  ),
  requestTimeout: ms(
    "--request-timeout",
    "<ms>",
    "Longest time a client may take to send a whole request, body included (0 = no limit: large uploads)",
    { default: 0 },
  ),
  requestBodyTimeout: ms(
    "--request-body-timeout",
    "<ms>",
    "Longest pause in an announced request body before the proxy answers 408 (0 = none)",
    { default: 30_000 },
  ),
  upstreamMaxConnections: {
    type: "integer",
    flag: "--upstream-max-connections",
    placeholder: "<n>",
    help: "Connections per upstream origin (0 = no limit, as in CHP)",
    min: 0,
    max: 1_000_000,
    default: 0,
  },
  upstreamClientShare: {
    type: "integer",
    flag: "--upstream-client-share",
    placeholder: "<percent>",
    help: "Percent of --upstream-max-connections one client address may hold at once",
    min: 1,
    max: 100,
    default: 50,
  },
  upstreamQueueLimit: {
    type: "integer",
    flag: "--upstream-queue-limit",
    placeholder: "<n>",
    help: "Requests per upstream origin that may wait for a connection; more get 503 at once",
    min: 0,
    max: 1_000_000,
    default: 1024,
  },
  upstreamQueueTimeout: ms(
    "--upstream-queue-timeout",
    "<ms>",
    "Longest wait for an upstream connection before the proxy answers 503",
    { default: 15_000 },
  ),
  websocketHold: ms(
    "--websocket-hold",
    "<ms>",
    "Longest wait of a plain (not TLS) WebSocket upstream's small reads, so that pieces sent one by one reach the client together (0 = relay each read at once)",
    { default: 1, max: 1000 },
  ),
  captureSocketMemory: {
    type: "integer",
    flag: "--capture-socket-memory",
    placeholder: "<bytes>",
    help: "Memory one kernel WebSocket may hold for messages being reassembled; larger ones are relayed uninspected",
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    default: 16 * 1024 * 1024,
  },
  captureMemory: {
    type: "integer",
    flag: "--capture-memory",
    placeholder: "<bytes>",
    help: "Memory all kernel WebSockets together may hold for messages being reassembled",
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    default: 128 * 1024 * 1024,
  },
  storageKeyPrefix: text(
    "--storage-key-prefix",
    "<prefix>",
    "Prefix of the Redis keys of this hub's routes (several hubs can share one Redis)",
    { default: "ltictr-proxy:" },
  ),
  dataDir: text(
    "--data-dir",
    "<dir>",
    "State folder: spool, secrets, generated certificates (default $STATE_DIRECTORY or ./var)",
  ),
  launchCookieKeyFile: text(
    "--launch-cookie-key-file",
    "<file>",
    "Key sealing the LTI launch cookie (default <data-dir>/launch-cookie.key; the same file on every replica)",
  ),
  recordsFile: text(
    "--records-file",
    "<file>",
    "Also append every captured record to this file as JSON lines",
  ),
  moodleUrl: text(
    "--moodle-url",
    "<url>",
    "Moodle wwwroot to deliver records to (e.g. https://moodle.example/moodle)",
  ),
  moodleTokenFile: text(
    "--moodle-token-file",
    "<file>",
    "File holding the Moodle web-service token (or env LTICTR_MOODLE_TOKEN)",
  ),
  moodleToken: { type: "string", help: "The Moodle web-service token itself", secret: true },
  moodleAllow: {
    type: "list",
    flag: "--moodle-allow",
    placeholder: "<origin>",
    help: "Moodle origin that LTI launches may name as their destination (repeatable)",
    default: [],
  },
  moodleMultiRecord: toggle(
    "--moodle-multi-record",
    "Send nb_logs[0..N-1] in one call (needs a plugin that reads every entry)",
  ),
  restPath: { type: "string", help: "The C proxy's Rest_Path (not used: records go to Moodle's REST path)" },
  restService: {
    type: "string",
    help: "The C proxy's Rest_Service (not used: the function is mod_lticontainer_write_nblogs)",
  },
  deliveryBatchSize: {
    type: "integer",
    flag: "--delivery-batch-size",
    placeholder: "<n>",
    help: "Records taken from the spool per batch",
    min: 1,
    max: 100_000,
    default: 100,
  },
  deliveryBatchAge: ms("--delivery-batch-age", "<ms>", "Longest wait before a partial batch is sent", {
    default: 200,
  }),
  deliveryConcurrency: {
    type: "integer",
    flag: "--delivery-concurrency",
    placeholder: "<n>",
    help: "Moodle calls in flight at once",
    min: 1,
    max: 1024,
    default: 64,
  },
  spoolMaxBytes: {
    type: "integer",
    flag: "--spool-max-bytes",
    placeholder: "<n>",
    help: "Disk the spool may use",
    min: 4096,
    max: Number.MAX_SAFE_INTEGER,
    default: 256 * 1024 * 1024,
  },
  legacyLmsCookies: toggle(
    "--legacy-lms-cookies",
    "Also accept the C ltictr_proxy's four plaintext lms_* cookies (migration only)",
  ),
  shutdownTimeout: ms("--shutdown-timeout", "<ms>", "Longest graceful shutdown on SIGTERM", {
    default: 10_000,
  }),
  adminPort: port("--admin-port", "<port>", "Port of the admin web page (off unless given)"),
  adminIp: text("--admin-ip", "<ip>", "IP of the admin web page", { default: "127.0.0.1" }),
  engineSocket: text(
    "--engine-socket",
    "<path>",
    "Docker or Podman Engine API socket: turns on the spawner endpoint and the admin page's images and volumes",
  ),
  spawnerPolicy: text("--spawner-policy", "<file>", "The spawner policy (JSON): images, limits, identities"),
  authToken: { type: "string", help: "REST API token (CONFIGPROXY_AUTH_TOKEN wins)", secret: true },
} as const satisfies Record<string, OptionSpec>;

export type OptionName = keyof typeof OPTIONS;

type ValueOf<S> = S extends { type: "boolean" }
  ? boolean
  : S extends { type: "list" }
    ? string[]
    : S extends { type: "integer" | "port" }
      ? number
      : string;

/** Option values as the layers (command line, environment, file, defaults) resolve them; absent = not set. */
export type OptionValues = { -readonly [K in OptionName]?: ValueOf<(typeof OPTIONS)[K]> };

export function isOptionName(name: string): name is OptionName {
  return Object.hasOwn(OPTIONS, name);
}

/** `moodleUrl` → `LTICTR_MOODLE_URL`. */
export function envVariableFor(name: OptionName): string {
  return `LTICTR_${name.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase()}`;
}
