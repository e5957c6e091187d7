/**
 * `--storage-backend redis://[user:password@]host[:port][/db]` (or `rediss://` for TLS). Other values of the
 * option keep naming a CHP store module, so only these two schemes select the built-in Redis store.
 */

export const DEFAULT_REDIS_PORT = 6379;

/** Where and how to connect; `display` is the URL without its password, the only form logs and errors show. */
export interface RedisConnectionSettings {
  host: string;
  port: number;
  db: number;
  tls: boolean;
  username?: string;
  password?: string;
  display: string;
}

export class RedisUrlError extends Error {
  readonly code = "REDIS_URL_INVALID";

  constructor(message: string) {
    super(message);
    this.name = "RedisUrlError";
  }
}

export function isRedisUrl(value: string): boolean {
  return /^rediss?:\/\//i.test(value);
}

/**
 * The URL with any credentials replaced, for messages about a URL that may not even parse: everything between
 * `//` and the last `@` (a password may hold `@`, `/` or `:` when it was not percent-encoded) is dropped.
 */
export function redactRedisUrl(value: string): string {
  const start = value.indexOf("//");
  const at = value.lastIndexOf("@");
  if (start < 0 || at < start) return value;
  return `${value.slice(0, start + 2)}[credentials]@${value.slice(at + 1)}`;
}

export function parseRedisUrl(value: string): RedisConnectionSettings {
  const shown = redactRedisUrl(value);
  const fail = (problem: string) => new RedisUrlError(`Invalid Redis URL '${shown}': ${problem}`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw fail("not a URL (expected redis://[user:password@]host[:port][/db])");
  }
  const scheme = url.protocol.toLowerCase();
  if (scheme !== "redis:" && scheme !== "rediss:") throw fail("the scheme must be redis:// or rediss://");
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (host === "") throw fail("no host");
  const port = url.port === "" ? DEFAULT_REDIS_PORT : Number(url.port);
  if (port === 0) throw fail("port 0");
  const dbText = url.pathname.replace(/^\//, "");
  if (!/^\d{0,5}$/.test(dbText)) throw fail(`the path must be a database number, not '/${dbText}'`);
  const db = dbText === "" ? 0 : Number(dbText);
  if (url.search !== "" || url.hash !== "") throw fail("query parameters and fragments are not supported");
  let username: string | undefined;
  let password: string | undefined;
  try {
    username = url.username === "" ? undefined : decodeURIComponent(url.username);
    password = url.password === "" ? undefined : decodeURIComponent(url.password);
  } catch {
    throw fail("the user name or password has a malformed %-escape");
  }
  if (username !== undefined && password === undefined)
    throw fail(
      "a user name needs a password (redis://user:password@host; redis://:password@host for the default user)",
    );
  const user = username === undefined ? "" : `${encodeURIComponent(username)}@`;
  const hostPart = host.includes(":") ? `[${host}]` : host;
  return {
    host,
    port,
    db,
    tls: scheme === "rediss:",
    username,
    password,
    display: `${scheme}//${user}${hostPart}:${port}/${db}`,
  };
}
