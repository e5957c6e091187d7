import t from "tap";
import {
  assertNothingCrashed,
  assertRouteServes,
  echoes,
  proxyFor,
  rawUpstream,
} from "../support/adversarial.js";
import { waitUntil } from "../support/wait.js";

/*
 * Whoever reads the proxy's stdout (a supervisor, `| tee`, a container's log driver) cannot take it down. Before: each
 * log line was a synchronous write that threw EAGAIN once the pipe's reader fell 64 KiB behind, and EPIPE once the
 * reader was gone, inside whatever request was logging; the exception handler's own line threw again and the
 * process died (≈ 250 route additions behind a reader that did not read).
 */

const ROUTES = 3000; // three lines each: ≈ 900 KB of log, far beyond a pipe's 64 KiB

t.test(
  "a log reader that stops reading: every call answered, every line written in order once it reads",
  async (t) => {
    const upstream = await rawUpstream(t, (request, socket) => void echoes(request, socket));
    const proxy = await proxyFor(t, upstream.url);
    const stdout = proxy.process.child.stdout;
    if (!stdout) throw new Error("the proxy's stdout is not a pipe");
    stdout.pause();
    for (let i = 0; i < ROUTES; i++) await proxy.addRoute(`/user/u${i}`, upstream.url);
    await assertRouteServes(t, proxy, "behind a stalled log reader");
    const table = JSON.parse((await proxy.api("GET", "")).body) as Record<string, unknown>;
    t.equal(
      Object.keys(table).length,
      ROUTES + 1,
      `all ${ROUTES} routes added while the log could not be written`,
    );
    t.notMatch(
      proxy.process.stdout(),
      `Route added /user/u${ROUTES - 1} `,
      "the lines were held back meanwhile",
    );

    stdout.resume();
    await proxy.process.waitFor(new RegExp(`Route added /user/u${ROUTES - 1} `));
    const added = [...proxy.process.stdout().matchAll(/Route added \/user\/u(\d+) /g)].map((m) =>
      Number(m[1]),
    );
    t.same(
      added,
      Array.from({ length: ROUTES }, (_, i) => i),
      "every 'Route added' line, once and in order",
    );
    assertNothingCrashed(t, proxy);
  },
);

t.test(
  "a log reader that goes away: the proxy keeps serving, and says once on stderr why its log stopped",
  async (t) => {
    const upstream = await rawUpstream(t, (request, socket) => void echoes(request, socket));
    const proxy = await proxyFor(t, upstream.url);
    proxy.process.child.stdout?.destroy();
    for (let i = 0; i < 300; i++) await proxy.addRoute(`/user/u${i}`, upstream.url);
    await assertRouteServes(t, proxy, "after the log reader left");
    await waitUntil(() => /log output failed/.test(proxy.process.stderr()), "the line on stderr", 5000);
    t.match(
      proxy.process.stderr(),
      /log output failed \(EPIPE\); no more log lines\n/,
      "the reason, on stderr",
    );
    t.equal(proxy.process.stderr().match(/log output failed/g)?.length, 1, "said once");
    assertNothingCrashed(t, proxy);
    t.equal(await proxy.process.stop(), 2, "SIGTERM still stops it as CHP stops (exit code 2)");
  },
);
