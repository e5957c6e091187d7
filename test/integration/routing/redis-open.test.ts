import t from "tap";
import { createServer, type AddressInfo, type Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { RedisStoreOpenError } from "../../../src/routing/redis/redis-connection.js";
import { RedisRouteStore } from "../../../src/routing/redis/redis-route-store.js";
import { RedisUrlError } from "../../../src/routing/redis/redis-url.js";
import { RedisKeyPrefixError } from "../../../src/routing/redis/key-layout.js";
import { CertificateAuthority } from "../../support/certificates.js";
import { captureLogger } from "../../support/log-capture.js";
import { freePort } from "../../support/ports.js";
import { RedisServer } from "../../support/redis-server.js";
import { tempDir } from "../../support/temp-dir.js";
import { sleep } from "../../support/wait.js";
import { adminClient } from "./redis-harness.js";

/** Sockets and timers of this process, to see that a failed open leaves none behind. */
function handles(): string[] {
  return process.getActiveResourcesInfo().filter((kind) => kind === "TCPSocketWrap" || kind === "Timeout");
}

async function openFails(url: string, options: { keyPrefix?: string; connectTimeoutMs?: number } = {}) {
  const { logger } = captureLogger();
  const before = handles().length;
  const start = performance.now();
  let failure: unknown;
  try {
    const store = await RedisRouteStore.open(url, { log: logger, commandTimeoutMs: 200, ...options });
    await store.close();
  } catch (error) {
    failure = error;
  }
  const ms = performance.now() - start;
  // ioredis keeps a timer of one command timeout after a disconnect (to destroy a socket that does not close).
  await sleep(400);
  return { failure: failure as Error & { code?: string }, ms, leftBehind: handles().length - before };
}

t.test("a URL that cannot be parsed: RedisUrlError, no password in it", async (t) => {
  const { failure } = await openFails("redis://hub:hunter2@cache:6379/zero");
  t.type(failure, RedisUrlError);
  t.equal(failure.code, "REDIS_URL_INVALID");
  t.equal(
    failure.message,
    "Invalid Redis URL 'redis://[credentials]@cache:6379/zero': the path must be a database number, not '/zero'",
  );
});

t.test("a bad key prefix: RedisKeyPrefixError", async (t) => {
  const redis = await RedisServer.start(t);
  const { failure } = await openFails(redis.url(), { keyPrefix: "my hub:" });
  t.type(failure, RedisKeyPrefixError);
  t.match(failure.message, /Invalid Redis key prefix 'my hub:'/);
});

t.test("nothing listens on the port: one-line RedisStoreOpenError, nothing left running", async (t) => {
  const port = await freePort();
  const { failure, leftBehind } = await openFails(`redis://:hunter2@127.0.0.1:${port}/2`);
  t.type(failure, RedisStoreOpenError);
  t.equal(failure.code, "REDIS_STORE_OPEN_FAILED");
  t.equal(
    failure.message,
    `Cannot use Redis at redis://127.0.0.1:${port}/2: connect ECONNREFUSED 127.0.0.1:${port}`,
  );
  t.equal(leftBehind, 0, "no socket or timer left");
});

t.test("a server that accepts connections but never answers: fails after the command timeout", async (t) => {
  // Reads (and drops) what it gets, so it sees the client's end; answers nothing.
  const silent = createServer((socket) => socket.on("error", () => undefined).resume());
  const sockets = new Set<Socket>();
  silent.on("connection", (socket) => sockets.add(socket));
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    silent.close();
  });
  const { port } = silent.address() as AddressInfo;
  const { failure, ms, leftBehind } = await openFails(`redis://127.0.0.1:${port}/0`);
  t.type(failure, RedisStoreOpenError);
  t.match(
    failure.message,
    new RegExp(
      `^Cannot use Redis at redis://127\\.0\\.0\\.1:${port}/0: (Socket timeout\\..* 200ms\\.|Command timed out)$`,
    ),
  );
  t.ok(ms < 5000, `gave up after ${ms.toFixed(0)} ms`);
  t.equal(leftBehind, 0);
});

t.test("a wrong password: the server's refusal, not the password", async (t) => {
  const redis = await RedisServer.start(t);
  const admin = await adminClient(t, redis);
  await admin.call("ACL", "SETUSER", "hub", "on", ">right-password", "~*", "&*", "+@all");
  const { failure, leftBehind } = await openFails(
    redis.url(0, { username: "hub", password: "wrong-password" }),
  );
  t.type(failure, RedisStoreOpenError);
  t.match(
    failure.message,
    new RegExp(`^Cannot use Redis at redis://hub@127\\.0\\.0\\.1:${redis.port}/0: WRONGPASS`),
  );
  t.notMatch(failure.message, /password@|wrong-password/);
  t.equal(leftBehind, 0);
  const { logger } = captureLogger();
  const store = await RedisRouteStore.open(redis.url(0, { username: "hub", password: "right-password" }), {
    log: logger,
  });
  t.equal(store.status().url, `redis://hub@127.0.0.1:${redis.port}/0`);
  await store.close();
});

t.test("a table key of the wrong type (written by hand): open fails with Redis's reason", async (t) => {
  const redis = await RedisServer.start(t);
  const admin = await adminClient(t, redis);
  await admin.hset("broken:seq", "x", "1");
  await admin.set("broken:epoch", "e");
  const { failure } = await openFails(redis.url(), { keyPrefix: "broken:" });
  t.type(failure, RedisStoreOpenError);
  t.match(failure.message, /WRONGTYPE/);
});

t.test(
  "rediss://: TLS with the CA given in the options; without it the certificate is refused",
  async (t) => {
    const dir = tempDir(t);
    const ca = CertificateAuthority.root(dir, "redis-ca");
    const redis = await RedisServer.start(t, { tls: ca.server("redis") });
    const { logger } = captureLogger();
    const store = await RedisRouteStore.open(redis.url(), { log: logger, tls: { ca: ca.pem } });
    t.teardown(() => store.close());
    await store.add("/user/ann", { target: "http://10.0.0.1:8888" });
    t.equal(store.getTarget("/user/ann")?.prefix, "/user/ann");
    t.equal(store.status().url, `rediss://localhost:${redis.port}/0`);
    // Several times: a refused handshake can end in a second socket error, which must not escape as an uncaught
    // exception (tap fails the test on one).
    for (let attempt = 0; attempt < 4; attempt++) {
      const { failure } = await openFails(redis.url());
      t.type(failure, RedisStoreOpenError);
      t.match(failure.message, /unable to verify the first certificate/);
    }
  },
);
