import type { MoodleDestination } from "../lti/launch-context.js";
import type { ListenSpec } from "./listen-spec.js";

/**
 * Everything the running proxy needs, validated and grouped by the part of the program that uses it. It does
 * not depend on how it was given (command line, file, environment): tests and the runtime build the proxy from
 * a Config alone.
 */
export interface Config {
  /** State folder: spool, dead letters, launch-cookie key, generated certificates. */
  dataDir: string;
  log: LogConfig;
  listen: ListenConfig;
  tls: TlsConfig;
  server: ServerConfig;
  routes: RoutesConfig;
  upstream: UpstreamConfig;
  forwarding: ForwardingConfig;
  capture: CaptureConfig;
  /** Absent when no Moodle is configured: captured records are then not delivered. */
  delivery?: DeliveryConfig;
  /** The operator's web page, when `--admin-port` is given. */
  admin?: AdminConfig;
  /** The spawner companion, when `--engine-socket` is given. */
  spawner?: SpawnerConfig;
}

export interface AdminConfig {
  listen: ListenSpec;
}

export interface SpawnerConfig {
  /** The Docker / Podman Engine API's UNIX socket. */
  engineSocket: string;
  /** The spawner policy file; the built-in defaults without it. */
  policyFile?: string;
}

export interface LogConfig {
  level: string;
  format: "text" | "json";
  /** One info line per proxied request. */
  accessLog: boolean;
}

export interface ListenConfig {
  public: ListenSpec;
  api: ListenSpec;
  /** Prometheus `/metrics`; metrics are collected only when this is set. */
  metrics?: ListenSpec;
  /** Plain HTTP answering 301 to the HTTPS port. */
  redirect?: { port: number; to?: number };
  pidFile?: string;
}

/** Where the TLS material of one listener comes from (file paths, as given). */
export interface TlsFiles {
  key?: string;
  cert?: string;
  /** Intermediate certificates, appended to `cert` (the C proxy's `--chain`). */
  chain?: string;
  /** CA bundle used to verify client certificates. */
  ca?: string;
  dhparam?: string;
  passphrase?: string;
  ciphers?: string;
  /** Lowest TLS version, CHP style `TLSv1_2` (or `TLSv1_2_method`) or Node style `TLSv1.2`. */
  protocol?: string;
  requestCert?: boolean;
  rejectUnauthorized?: boolean;
  /** Prefix of the options in error messages: `--ssl` names files `--ssl-cert`, `--ssl-key`, … */
  optionPrefix?: string;
}

export interface TlsConfig {
  /** The public listener's files; without key and cert and with `selfSigned`, a certificate is generated. */
  public?: TlsFiles;
  selfSigned: boolean;
  api?: TlsFiles;
}

export interface ServerConfig {
  keepAliveTimeoutMs: number;
  /** `--timeout`: idle time after which a client connection is dropped; undefined = none. */
  clientIdleTimeoutMs?: number;
  shutdownTimeoutMs: number;
  /** Node's `headersTimeout`: the longest a client may take to send a request head. */
  headersTimeoutMs: number;
  /** Node's `requestTimeout`: the longest a client may take to send a whole request; 0 = none. */
  requestTimeoutMs: number;
  /** The longest pause in an announced request body before 408; 0 = none. */
  requestBodyTimeoutMs: number;
}

export type RouteStorage =
  | { kind: "memory" }
  /** CHP's `--storage-backend <module>`. */
  | { kind: "module"; module: string }
  | { kind: "redis"; url: string; keyPrefix: string };

export interface RoutesConfig {
  storage: RouteStorage;
  defaultTarget?: string;
  hostRouting: boolean;
  /** CONFIGPROXY_AUTH_TOKEN; undefined leaves the REST API open (logged as a warning). */
  apiToken?: string;
}

export interface UpstreamConfig {
  /** `--client-ssl-*` files: the identity presented to https upstreams, and the CA trusted for them. */
  clientKeyFile?: string;
  clientCertFile?: string;
  clientCaFile?: string;
  /** `--insecure`: upstream certificates are not verified. */
  insecure: boolean;
  /** `--proxy-timeout`: ms without upstream progress before answering 503; 0 = none. */
  responseTimeoutMs: number;
  /** Connections per upstream origin; 0 = no limit. */
  maxConnections: number;
  /** Percent of `maxConnections` one client address may hold at once. */
  clientSharePercent: number;
  /** Requests per origin that may wait for a connection. */
  queueLimit: number;
  /** The longest wait for a connection before 503. */
  queueTimeoutMs: number;
  /** `--websocket-hold`: how long a WebSocket upstream's small read may be followed by a pause; 0 = never. */
  websocketHoldMs: number;
}

export type ErrorPages =
  { kind: "target"; url: string } | { kind: "path"; dir: string } | { kind: "built-in" };

export interface ForwardingConfig {
  xForward: boolean;
  changeOrigin: boolean;
  /** `--custom-header` pairs, names lower-cased, applied last. */
  customHeaders: ReadonlyArray<readonly [string, string]>;
  prependPath: boolean;
  includePrefix: boolean;
  autoRewrite: boolean;
  protocolRewrite?: string;
  errorPages: ErrorPages;
  /** Drop client-sent `X-Real-IP`, `X-Scheme`, `Forwarded`, `X-Forwarded-Host`. */
  dropClientForwarded: boolean;
}

export interface CaptureConfig {
  launchCookieKeyFile: string;
  /** Also accept the C proxy's four plaintext `lms_*` cookies (migration only). */
  legacyLmsCookies: boolean;
  /** Also append every captured record to this JSON-lines file. */
  recordsFile?: string;
  /** Bytes one kernel socket may hold for messages being reassembled. */
  socketMemoryBytes: number;
  /** Bytes all kernel sockets together may hold for messages being reassembled. */
  memoryBytes: number;
}

export interface DeliveryConfig {
  /** `--moodle-url` with its token. */
  moodle?: MoodleDestination;
  /** Origins that LTI launches may name as their records' destination. */
  allowOrigins: string[];
  multiRecord: boolean;
  batchSize: number;
  batchAgeMs: number;
  concurrency: number;
  spoolMaxBytes: number;
}
