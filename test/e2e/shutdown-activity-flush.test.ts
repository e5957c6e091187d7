import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import t from "tap";
import { startEchoBackend } from "../support/echo-backend.js";
import { startLoopbackProxy } from "../support/loopback-proxy.js";
import { tempDir } from "../support/temp-dir.js";
import { sleep } from "../support/wait.js";
import { webRequest } from "../support/web-client.js";

/**
 * With a `--storage-backend` store, activity notes reach the store in one batch per second. A SIGTERM during load
 * must write the notes of that last second too: JupyterHub's idle culler reads `last_activity` from the store,
 * and a note lost at a restart makes a busy server look idle.
 */
const DUMMY_STORE = fileURLToPath(new URL("../../../test/fixtures/dummy-store.cjs", import.meta.url));

t.test("SIGTERM during load flushes activity notes to the storage backend", async (t) => {
  const echo = await startEchoBackend({ path: "/user/a" });
  t.teardown(() => echo.close());
  const tableFile = join(tempDir(t, "ltictr-activity-"), "table.json");
  const proxy = await startLoopbackProxy(t, ["--storage-backend", DUMMY_STORE], {
    env: { DUMMY_STORE_FILE: tableFile },
  });
  await proxy.addRoute("/user/a", echo.target, { user: "a" });
  const stored = () =>
    Date.parse(
      (JSON.parse(readFileSync(tableFile, "utf8")) as Record<string, { last_activity: string }>)["/user/a"]
        .last_activity,
    );
  const added = stored();

  // Load for a second and a half, so interval flushes happen; the last request starts after the last of them.
  let lastStarted = 0;
  const statuses = new Set<number>();
  const until = Date.now() + 1500;
  while (Date.now() < until) {
    lastStarted = Date.now();
    statuses.add((await webRequest(`${proxy.url}/user/a/x`)).status);
  }
  t.same([...statuses], [200], "every request served");
  proxy.process.child.kill("SIGTERM");
  t.equal(await proxy.process.exited(), 2, "stopped by SIGTERM");
  await sleep(10);
  const final = stored();
  t.ok(final > added, "activity was written at all");
  t.ok(
    final >= lastStarted,
    "the note of the last request, taken after the last interval flush, reached the store",
    {
      final: new Date(final).toISOString(),
      lastStarted: new Date(lastStarted).toISOString(),
    },
  );
});
