import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import t from "tap";
import { startEchoBackend, type EchoReply } from "../support/echo-backend.js";
import { tempDir } from "../support/temp-dir.js";
import { sleep } from "../support/wait.js";
import { json, webRequest } from "../support/web-client.js";
import { dataDirArgs, startBinary, startProxyUnderTest } from "./harness.js";

// --storage-backend.

const DUMMY_STORE = fileURLToPath(new URL("../../../test/fixtures/dummy-store.cjs", import.meta.url));
const echo = await startEchoBackend({ path: "/user/a" });
t.teardown(() => echo.close());

t.test("30: a storage backend that cannot be found stops the start with exit 1", async (t) => {
  const proc = startBinary(["--storage-backend", "mybackend", ...dataDirArgs(t)]);
  t.teardown(() => proc.stop());
  t.equal(await proc.exited(), 1);
  t.match(proc.stderr(), "Cannot find module 'mybackend'");
});

t.test("a module that exports no store class is a configuration error: exit 1", async (t) => {
  const notAStore = join(tempDir(t), "not-a-store.cjs");
  writeFileSync(notAStore, "module.exports = { answer: 42 };\n");
  const proc = startBinary(["--storage-backend", notAStore, ...dataDirArgs(t)]);
  t.teardown(() => proc.stop());
  t.equal(await proc.exited(), 1);
  t.match(proc.stderr(), "not-a-store.cjs");
});

t.test("31: a user-defined backend (absolute path) holds the routes", async (t) => {
  const tableFile = join(tempDir(t), "table.json");
  const proxy = await startProxyUnderTest(t, ["--storage-backend", DUMMY_STORE], {
    env: { DUMMY_STORE_FILE: tableFile },
  });
  t.match(proxy.process.stdout(), "PlugableDummyStore");

  await proxy.addRoute("/user/a", echo.target, { user: "a" });
  const table = JSON.parse(readFileSync(tableFile, "utf8")) as Record<
    string,
    { target: string; user: string }
  >;
  t.equal(table["/user/a"]?.target, echo.target, "the route went into the plug-in store");
  t.equal(table["/user/a"]?.user, "a");

  const answer = await webRequest(`${proxy.url}/user/a/lab`);
  t.equal(answer.status, 200, "lookups go through the store's getTarget");
  t.equal(json<EchoReply>(answer).url, "/user/a/lab");
  t.equal((await webRequest(`${proxy.url}/user/b`)).status, 404);

  const added = await proxy.lastActivity("/user/a");
  await sleep(1100);
  await webRequest(`${proxy.url}/user/a/again`);
  t.ok((await proxy.lastActivity("/user/a")) > added, "activity is written through update()");
  t.ok(
    Object.keys(json<Record<string, unknown>>(await proxy.api("GET", "?inactive_since=2100-01-01"))).includes(
      "/user/a",
    ),
  );

  t.equal((await proxy.api("DELETE", "/user/a")).status, 204);
  t.same(JSON.parse(readFileSync(tableFile, "utf8")), {}, "removed from the store");
});
