import t from "tap";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  DEFAULT_LAUNCH_COOKIE_MAX_AGE_MS,
  LAUNCH_COOKIE_KEY_FILE,
  LAUNCH_COOKIE_NAME,
  LaunchCookieCodec,
} from "../../../src/lti/launch-cookie.js";
import type { LaunchContext } from "../../../src/lti/launch-context.js";
import { tempDir } from "../../support/temp-dir.js";

const CONTEXT: LaunchContext = {
  instId: "6",
  ltiId: "13",
  serverUrl: "https://moodle.example:443",
  serverPath: "/moodle",
  rpcToken: "0123456789abcdef0123456789abcdef",
};

/** The cookie pair `name=value` of a Set-Cookie header value. */
function cookiePair(setCookie: string): string {
  return setCookie.split(";")[0]!;
}

t.test("key file is created once, 32 bytes, mode 0600", async (t) => {
  const dataDir = join(tempDir(t, "ltictr-cookie-"), "var", "state");
  await LaunchCookieCodec.open(dataDir);
  const keyPath = join(dataDir, LAUNCH_COOKIE_KEY_FILE);
  t.equal(readFileSync(keyPath).length, 32);
  t.equal(statSync(keyPath).mode & 0o777, 0o600);
  const key = readFileSync(keyPath);
  await LaunchCookieCodec.open(dataDir);
  t.ok(readFileSync(keyPath).equals(key), "reopening keeps the key");

  const [a, b] = await Promise.all([
    LaunchCookieCodec.open(join(dataDir, "x")),
    LaunchCookieCodec.open(join(dataDir, "x")),
  ]);
  t.same(b.read(cookiePair(a.seal(CONTEXT))), CONTEXT, "two codecs opened together share one key");
});

t.test("seal and read", async (t) => {
  const codec = await LaunchCookieCodec.open(tempDir(t, "ltictr-cookie-"));
  const header = codec.seal(CONTEXT);
  t.match(
    header,
    new RegExp(`^${LAUNCH_COOKIE_NAME}=[A-Za-z0-9_-]+; HttpOnly; Secure; SameSite=None; Path=/$`),
  );
  t.notMatch(header, CONTEXT.rpcToken, "the token is not visible");
  t.notMatch(header, "moodle.example");
  t.same(codec.read(cookiePair(header)), CONTEXT);
  t.same(
    codec.read(`jupyterhub-session-id=abc; ${cookiePair(header)}; _xsrf=2|x`),
    CONTEXT,
    "among other cookies",
  );
  t.not(codec.seal(CONTEXT), header, "a fresh IV every time");
  t.equal(codec.read(undefined), undefined);
  t.equal(codec.read(""), undefined);
  t.equal(codec.read("other=1"), undefined);
});

t.test("tampered, truncated, garbage and foreign cookies are refused", async (t) => {
  const codec = await LaunchCookieCodec.open(tempDir(t, "ltictr-cookie-"));
  const value = cookiePair(codec.seal(CONTEXT)).slice(LAUNCH_COOKIE_NAME.length + 1);
  const bytes = Buffer.from(value, "base64url");
  for (let i = 0; i < bytes.length; i++) {
    const tampered = Buffer.from(bytes);
    tampered[i] = tampered[i]! ^ 0x01;
    if (codec.read(`${LAUNCH_COOKIE_NAME}=${tampered.toString("base64url")}`) !== undefined) {
      t.fail(`flipping a bit of byte ${i} was not detected`);
    }
  }
  t.equal(codec.read(`${LAUNCH_COOKIE_NAME}=${value.slice(0, -4)}`), undefined, "truncated");
  t.equal(codec.read(`${LAUNCH_COOKIE_NAME}=${"A".repeat(200)}`), undefined, "garbage");
  t.equal(codec.read(`${LAUNCH_COOKIE_NAME}=!!!***`), undefined, "not base64url");
  t.equal(codec.read(`${LAUNCH_COOKIE_NAME}=`), undefined, "empty");

  const other = await LaunchCookieCodec.open(tempDir(t, "ltictr-cookie-"));
  t.equal(other.read(`${LAUNCH_COOKIE_NAME}=${value}`), undefined, "sealed under another key");
});

t.test("expiry", async (t) => {
  let now = 1_700_000_000_000;
  const dir = tempDir(t, "ltictr-cookie-");
  const codec = await LaunchCookieCodec.open(dir, { now: () => now });
  const pair = cookiePair(codec.seal(CONTEXT));
  now += DEFAULT_LAUNCH_COOKIE_MAX_AGE_MS - 1000;
  t.same(codec.read(pair), CONTEXT, "just under 24 h");
  now += 2000;
  t.equal(codec.read(pair), undefined, "older than 24 h");

  const short = await LaunchCookieCodec.open(dir, { now: () => now, maxAgeMs: 60_000 });
  const fresh = cookiePair(short.seal(CONTEXT));
  now += 61_000;
  t.equal(short.read(fresh), undefined, "configurable max age");

  const past = await LaunchCookieCodec.open(dir, { now: () => now - 10 * 60_000 });
  t.equal(past.read(cookiePair(short.seal(CONTEXT))), undefined, "issued in the future");
});

t.test("the newest of several sealed cookies wins", async (t) => {
  let now = 1_700_000_000_000;
  const codec = await LaunchCookieCodec.open(tempDir(t, "ltictr-cookie-"), { now: () => now });
  const older = cookiePair(codec.seal(CONTEXT));
  now += 1000;
  const newer = cookiePair(codec.seal({ ...CONTEXT, instId: "7", ltiId: "14" }));
  t.equal(codec.read(`${older}; ${newer}`)?.instId, "7");
  t.equal(codec.read(`${newer}; ${older}`)?.instId, "7");
  t.equal(
    codec.read(`${LAUNCH_COOKIE_NAME}=bogus; ${older}`)?.instId,
    "6",
    "an invalid one does not hide a valid one",
  );
});

t.test("the C proxy's plaintext cookies, only when enabled", async (t) => {
  const legacy =
    "lms_sessioninfo=6%2C13; lms_serverurl=https%3A%2F%2Fmoodle.example%3A443; lms_serverpath=%2Fmoodle; " +
    "lms_rpctoken=0123456789abcdef0123456789abcdef; jupyterhub-session-id=x";
  const dir = tempDir(t, "ltictr-cookie-");
  const strict = await LaunchCookieCodec.open(dir);
  t.equal(strict.read(legacy), undefined, "ignored by default");

  const migrating = await LaunchCookieCodec.open(dir, { acceptLegacyCookies: true });
  t.same(migrating.read(legacy), CONTEXT);
  t.same(migrating.read("lms_sessioninfo=6%2C13"), {
    ...CONTEXT,
    serverUrl: "",
    serverPath: "",
    rpcToken: "",
  });
  t.equal(migrating.read("lms_serverurl=https%3A%2F%2Fm"), undefined, "sessioninfo is required");
  t.equal(migrating.read("lms_sessioninfo=%E0%A4%A"), undefined, "malformed escape");
  const sealed = cookiePair(migrating.seal({ ...CONTEXT, instId: "99" }));
  t.equal(migrating.read(`${legacy}; ${sealed}`)?.instId, "99", "the sealed cookie takes precedence");
});

t.test("a key file of the wrong size is a clear error", async (t) => {
  const dir = tempDir(t, "ltictr-cookie-");
  writeFileSync(join(dir, LAUNCH_COOKIE_KEY_FILE), "too short");
  await t.rejects(LaunchCookieCodec.open(dir), /expected a 32-byte key/);
});
