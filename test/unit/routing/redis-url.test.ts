import t from "tap";
import {
  isRedisUrl,
  parseRedisUrl,
  redactRedisUrl,
  RedisUrlError,
} from "../../../src/routing/redis/redis-url.js";

t.test("redis:// with defaults: port 6379, db 0, no TLS, no credentials", async (t) => {
  t.same(parseRedisUrl("redis://cache.example"), {
    host: "cache.example",
    port: 6379,
    db: 0,
    tls: false,
    username: undefined,
    password: undefined,
    display: "redis://cache.example:6379/0",
  });
});

t.test("rediss://, user, password, port and db; the display form has no password", async (t) => {
  const settings = parseRedisUrl("rediss://hub:s%3Acret%40x@10.0.0.7:6380/3");
  t.equal(settings.host, "10.0.0.7");
  t.equal(settings.port, 6380);
  t.equal(settings.db, 3);
  t.equal(settings.tls, true);
  t.equal(settings.username, "hub");
  t.equal(settings.password, "s:cret@x", "percent-escapes decoded");
  t.equal(settings.display, "rediss://hub@10.0.0.7:6380/3");
});

t.test("a password alone is the default user's", async (t) => {
  const settings = parseRedisUrl("redis://:pw@localhost/1");
  t.equal(settings.username, undefined);
  t.equal(settings.password, "pw");
  t.equal(settings.display, "redis://localhost:6379/1");
});

t.test("IPv6 hosts lose their brackets, and get them back in the display form", async (t) => {
  const settings = parseRedisUrl("redis://[::1]:7000/0");
  t.equal(settings.host, "::1");
  t.equal(settings.display, "redis://[::1]:7000/0");
});

t.test("scheme detection for --storage-backend", async (t) => {
  t.ok(isRedisUrl("redis://h"));
  t.ok(isRedisUrl("REDISS://h"));
  t.notOk(isRedisUrl("./my-store.js"));
  t.notOk(isRedisUrl("redis-store-module"));
});

t.test("bad URLs: one clear message naming the problem, never the password", async (t) => {
  const cases: Array<[string, RegExp]> = [
    ["redis://user:hunter2@", /not a URL|no host/],
    ["http://user:hunter2@host:6379", /scheme must be redis:\/\/ or rediss:\/\//],
    ["redis://user:hunter2@host:6379/x", /database number, not '\/x'/],
    ["redis://user:hunter2@host:6379/0/1", /database number/],
    ["redis://user:hunter2@host:6379/0?prefix=a", /query parameters/],
    ["redis://user:hunter2@host:99999/0", /not a URL/],
    ["redis://user:hunter2@host:0/0", /port 0/],
    ["redis://user@host/0", /user name needs a password/],
    ["redis://user:%E0%A4%A@host/0", /malformed %-escape/],
    ["redis//user:hunter2@host:6379", /not a URL/],
  ];
  for (const [url, problem] of cases) {
    const error = t.throws(() => parseRedisUrl(url), RedisUrlError, url) as RedisUrlError;
    t.match(error.message, problem, url);
    t.equal(error.code, "REDIS_URL_INVALID");
    t.notMatch(error.message, /hunter2|E0%A4/, `${url}: no secret in the message`);
    t.notMatch(error.message, /\n/, "one line");
  }
});

t.test("redaction keeps everything but the credentials, even for unparseable input", async (t) => {
  t.equal(redactRedisUrl("redis://u:p@ss/w@host:1/0"), "redis://[credentials]@host:1/0");
  t.equal(redactRedisUrl("redis://host:1/0"), "redis://host:1/0");
});
