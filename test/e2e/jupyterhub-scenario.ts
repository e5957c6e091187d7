import type { TAP } from "tap";
import { HubBrowser } from "../support/hub-browser.js";
import { e2eProxyCommand, startJupyterHub, type Hub, type ProxyMode } from "../support/jupyterhub.js";
import { sleep } from "../support/wait.js";

const USER = "e2e-student";
const USER_ROUTE = `/user/${USER}`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** `last_activity` of a route as epoch ms, or NaN when missing or unparseable. */
function activityOf(routes: Record<string, Record<string, unknown>>, key: string): number {
  const value = routes[key]?.last_activity;
  return typeof value === "string" ? Date.parse(value) : NaN;
}

/**
 * Polls the proxy API until `/user/<name>`'s last_activity passes `after` (the proxy may write activity
 * once per second per route, so the new value need not be visible at once). Bounded, not a speed check.
 */
async function activityAfter(hub: Hub, after: number, waitMs = 5000): Promise<number> {
  const deadline = Date.now() + waitMs;
  let seen = activityOf(await hub.routes(), USER_ROUTE);
  while (!(seen > after) && Date.now() < deadline) {
    await sleep(200);
    seen = activityOf(await hub.routes(), USER_ROUTE);
  }
  return seen;
}

/**
 * The end-to-end story with JupyterHub 3.0 in front of the proxy under test, in one `mode`:
 * login, spawn, server API, kernel over WebSocket, route data, activity, server stop, clean shutdown.
 */
export async function runJupyterHubScenario(
  tap: TAP,
  mode: ProxyMode,
  options: { sharedStore?: string } = {},
): Promise<void> {
  const title = options.sharedStore ? `${mode}, two replicas on a shared Redis route store` : mode;
  await tap.test(`JupyterHub 3.0, ${title}`, async (t) => {
    const hub = await startJupyterHub({ mode, proxyCommand: e2eProxyCommand(), users: [USER], ...options });
    const browser = new HubBrowser(hub.publicUrl);
    t.teardown(async () => {
      try {
        await browser.close();
      } finally {
        await hub.stop();
        if (!t.passing()) console.error(hub.logs().slice(-30000));
      }
    });

    const me = await browser.login(USER);
    t.equal(me.name, USER, "login through the proxy's public URL");

    const landing = await browser.spawn(USER);
    t.ok(
      landing.hops.some((hop) => hop.split(" ")[1].startsWith(`${USER_ROUTE}/`)),
      `spawn redirects the browser to the server (${landing.hops.join(" -> ")})`,
    );
    t.equal((await browser.userModel(USER)).server, `${USER_ROUTE}/`, "hub reports the server running");

    await browser.authorizeServer(USER);
    const status = await browser.fetch(`${USER_ROUTE}/api/status`);
    t.equal(status.status, 200, "/user/<name>/api/status answers 200");
    t.match(String(status.headers["content-type"]), /application\/json/, "status is JSON");
    t.match(JSON.parse(status.body), { started: String }, "status body comes from jupyter_server");

    const kernel = await browser.startKernel(USER);
    t.match(kernel.id, UUID, "kernel started");

    const channel = await browser.openKernel(USER, kernel.id);
    const run = await channel.execute("print(1+1)", { tags: ["filename:e2e.ipynb", "codenum:1"] });
    t.equal(run.status, "ok", "execute_reply status ok");
    // ipykernel may flush one print() as several stream messages ("2", then "\n"): compare their joined text.
    const stdout = run.outputs
      .filter((o) => o.type === "stream" && o.content.name === "stdout")
      .map((o) => String(o.content.text))
      .join("");
    t.equal(stdout, "2\n", `stdout "2\\n" (${JSON.stringify(run.outputs)})`);

    const routes = await hub.routes();
    t.match(routes["/"], { hub: true, jupyterhub: true, target: hub.hubUrl }, "hub route with its data");
    t.match(
      routes[USER_ROUTE],
      {
        user: USER,
        server_name: "",
        target: /^http:\/\/127\.0\.0\.1:\d+$/,
        jupyterhub: true,
        last_activity: String,
      },
      "user route with its data",
    );
    const firstActivity = activityOf(routes, USER_ROUTE);
    t.ok(Number.isFinite(firstActivity), `last_activity is a date (${routes[USER_ROUTE]?.last_activity})`);

    // More than the proxy's one-write-per-second-per-route throttle, so new traffic must show.
    await sleep(1500);
    const beforeTraffic = Date.now();
    t.equal((await browser.fetch(`${USER_ROUTE}/api/status`)).status, 200, "more user traffic");
    t.equal((await channel.execute("x = 3")).status, "ok", "more kernel traffic");
    // Replicas on a shared store send their notes once a second: wait (bounded) for one at least as new as the traffic.
    const laterActivity = await activityAfter(hub, Math.max(firstActivity, beforeTraffic - 1));
    t.ok(laterActivity > firstActivity, `last_activity advances (${firstActivity} -> ${laterActivity})`);
    t.ok(laterActivity >= beforeTraffic, "last_activity reflects the new traffic");

    await channel.close();
    await browser.stopServer(USER);
    const afterStop = await hub.routes();
    t.notOk(USER_ROUTE in afterStop, "stopping the server removes its route");
    t.ok("/" in afterStop, "hub route stays");
    t.not(
      (await browser.fetch(`${USER_ROUTE}/api/status`)).status,
      200,
      "the stopped server is not reachable",
    );

    await browser.close();
    const report = await hub.stop();
    t.equal(report.hubExit, 0, "hub exits cleanly");
    if (mode === "external-proxy") t.equal(report.proxyExit, 2, "proxy exits with 2 on SIGTERM, like CHP");
    if (options.sharedStore)
      t.equal(report.servingReplicaExit, 2, "the serving replica exits with 2 as well");
    t.same(report.leftovers, [], "no hub, server, kernel or proxy process left behind");
  });
}
