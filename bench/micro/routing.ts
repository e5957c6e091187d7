/**
 * Micro-benchmarks of routing, no sockets: the request path parsed from a URL, the trie lookup in a table of
 * 10,000 user routes (spread over all of them, as scenario 5 of `npm run bench` loads them), adding a route as
 * `POST /api/routes` does, and the body of `GET /api/routes` — once after every route's `last_activity` moved
 * (the first poll after a busy minute), once with nothing changed since the last poll.
 *
 *   npm run build && node dist/bench/micro/routing.js [--rounds 15] [--only GET]
 */
import { MemoryRouteStore } from "../../src/routing/memory-route-store.js";
import { parseRequestPath } from "../../src/routing/request-path.js";
import { runMicro, type MicroCase } from "./harness.js";

const ROUTES = 10_000;
const TARGET = "http://127.0.0.1:8888";

function routeData(user: number): { target: string; last_activity: Date; [key: string]: unknown } {
  // What JupyterHub posts for a user's server, with the `last_activity` the API adds.
  return { user: `u${user}`, server_name: "", target: TARGET, jupyterhub: true, last_activity: new Date() };
}

function fullStore(): MemoryRouteStore {
  const store = new MemoryRouteStore();
  store.add("/", routeData(-1));
  for (let i = 0; i < ROUTES; i++) store.add(`/user/u${i}`, routeData(i));
  return store;
}

/** A fixed pseudo-random order of users, the same every round. */
const spread = Array.from({ length: 4096 }, (_, i) => (i * 7919) % ROUTES);
const urls = spread.map((user) => `/user/u${user}/api/contents/work/notebook.ipynb?content=1&_=1764624480`);
const paths = spread.map((user) => `/user/u${user}/api/contents/work/notebook.ipynb`);

const lookupStore = fullStore();
const jsonStore = fullStore();
let activityClock = Date.now();

const cases: MicroCase[] = [
  {
    name: "request path of a plain URL",
    ops: urls.length,
    run() {
      let length = 0;
      for (const url of urls) length += parseRequestPath(url, "hub.example.org", false)?.routing.length ?? 0;
      return length;
    },
  },
  {
    name: `trie lookup among ${ROUTES.toLocaleString("en-US")} routes`,
    ops: paths.length,
    run() {
      let depth = 0;
      for (const path of paths) depth += lookupStore.getTarget(path)?.depth ?? 0;
      return depth;
    },
  },
  {
    name: "POST: add a route (store)",
    ops: ROUTES,
    run() {
      const store = new MemoryRouteStore();
      for (let i = 0; i < ROUTES; i++) store.add(`/user/u${i}`, routeData(i));
      return store.size;
    },
  },
  {
    name: `GET all ${ROUTES.toLocaleString("en-US")} routes, every last_activity moved (per route)`,
    ops: ROUTES + 1,
    run() {
      const at = (activityClock += 1000);
      for (let i = 0; i < ROUTES; i++) jsonStore.getTarget(`/user/u${i}`)?.noteActivity?.(at);
      // Only the serialisation is timed in effect: the notes above cost a field write each.
      return jsonStore.getAllJson().length;
    },
  },
  {
    name: `GET all ${ROUTES.toLocaleString("en-US")} routes, nothing changed (per route)`,
    ops: ROUTES + 1,
    run() {
      return jsonStore.getAllJson().length;
    },
  },
];

runMicro("routing micro-benchmark", cases);
