import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import t from "tap";
import { listenArgs } from "../support/loopback-proxy.js";
import { freePorts, portAccepts } from "../support/ports.js";
import { startProxy } from "../support/proxy-process.js";
import { tempDir } from "../support/temp-dir.js";

/*
 * A SIGTERM that arrives while the proxy is still starting (here: its route store takes 1.5 s to add the default
 * route) waits for the start to finish, then stops everything that was started: exit code 2, as after start-up,
 * the pid file removed and no listener left behind.
 */
const DUMMY_STORE = fileURLToPath(new URL("../../../test/fixtures/dummy-store.cjs", import.meta.url));

t.test("SIGTERM during start-up: the start finishes, then the proxy stops cleanly", async (t) => {
  const dir = tempDir(t, "ltictr-start-signal-");
  const pidFile = join(dir, "proxy.pid");
  const [port, apiPort] = await freePorts(2);
  const proxy = startProxy(
    [
      ...listenArgs({ port, apiPort }),
      "--data-dir",
      join(dir, "data"),
      "--storage-backend",
      DUMMY_STORE,
      "--default-target",
      "http://127.0.0.1:9",
      "--pid-file",
      pidFile,
    ],
    { DUMMY_STORE_ADD_DELAY_MS: "1500" },
  );
  t.teardown(() => proxy.stop());
  await proxy.waitFor(/Adding route \/ -> /);
  const signalledAt = Date.now();
  proxy.child.kill("SIGTERM");
  t.equal(await proxy.exited(), 2, "exit code 2, as for a signal after start-up");
  t.ok(Date.now() - signalledAt < 10_000, "within the shutdown timeout");
  t.match(proxy.stdout() + proxy.stderr(), /Terminated/, "the signal is logged");
  t.notMatch(
    proxy.stdout() + proxy.stderr(),
    /Shutdown failed|Unhandled|uncaught/i,
    "no failure on the way out",
  );
  t.notOk(existsSync(pidFile), "the pid file is removed");
  t.ok(!(await portAccepts(port)), "the proxy port is closed");
  t.ok(!(await portAccepts(apiPort)), "the API port is closed");
});
