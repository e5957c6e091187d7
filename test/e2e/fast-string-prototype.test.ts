import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import t from "tap";
import { startLoopbackProxy } from "../support/loopback-proxy.js";
import { PROXY_BIN } from "../support/proxy-process.js";
import { RedisServer } from "../support/redis-server.js";
import { tempDir, type Teardown } from "../support/temp-dir.js";

/**
 * A class that extends String turns String.prototype into a dictionary in V8, and string methods called on primitive
 * strings never turn it back: every `slice` or `indexOf` of the proxy then costs a dictionary lookup (a replica on the
 * Redis store served 10 % fewer requests). The proxy makes it fast again after loading a route store's code. V8's
 * own test function tells a fast object from a dictionary; it needs `--allow-natives-syntax`, set by a launcher.
 */
const DUMMY_STORE = fileURLToPath(new URL("../../../test/fixtures/dummy-store.cjs", import.meta.url));
const REPORT = /STRING_PROTOTYPE_FAST=(true|false)/;

/** Starts the binary as a user does, and writes whether String.prototype is a fast object when it exits. */
function reportingLauncher(t: Teardown): string {
  const launcher = join(tempDir(t, "ltictr-launcher-"), "launch.mjs");
  writeFileSync(
    launcher,
    [
      'import { setFlagsFromString } from "node:v8";',
      'setFlagsFromString("--allow-natives-syntax");',
      'const fast = new Function("return %HasFastProperties(String.prototype)");',
      'process.on("exit", () => process.stderr.write(`STRING_PROTOTYPE_FAST=${fast()}\\n`));',
      `await import(${JSON.stringify(pathToFileURL(PROXY_BIN).href)});`,
      "",
    ].join("\n"),
  );
  return launcher;
}

async function stringPrototypeFastIn(t: Teardown, args: string[]): Promise<string | undefined> {
  const proxy = await startLoopbackProxy(t, args, { bin: reportingLauncher(t) });
  await proxy.process.stop();
  return REPORT.exec(proxy.process.stderr())?.[1];
}

t.test("ioredis alone leaves String.prototype a dictionary: why the proxy repairs it", async (t) => {
  const script = [
    `await import(${JSON.stringify(import.meta.resolve("ioredis"))});`,
    "console.log(%HasFastProperties(String.prototype));",
  ].join("\n");
  const printed = execFileSync(process.execPath, [
    "--allow-natives-syntax",
    "--input-type=module",
    "-e",
    script,
  ]);
  t.equal(
    printed.toString().trim(),
    "false",
    "if this fails, ioredis no longer slows string methods and restoreFastStringPrototype can go",
  );
});

t.test("a proxy on the Redis store: String.prototype is a fast object", async (t) => {
  const redis = await RedisServer.start(t);
  t.equal(await stringPrototypeFastIn(t, ["--storage-backend", redis.url()]), "true");
});

t.test("a --storage-backend module that declares a class extending String: still fast", async (t) => {
  const store = join(tempDir(t, "ltictr-store-"), "verbatim-store.cjs");
  writeFileSync(
    store,
    [
      '"use strict";',
      "class Verbatim extends String {}",
      `module.exports = require(${JSON.stringify(DUMMY_STORE)});`,
      "module.exports.Verbatim = Verbatim;",
      "",
    ].join("\n"),
  );
  t.equal(await stringPrototypeFastIn(t, ["--storage-backend", store]), "true");
});

t.test("the in-memory store: fast, as it always was", async (t) => {
  t.equal(await stringPrototypeFastIn(t, []), "true");
});
