/**
 * What a route lookup costs when its memory is cold, as it is under scenario 5's load spread over 10,000 users: the
 * rest of each request (sockets, buffers, the other instance on the same core) evicts the table between two lookups
 * of the same route. Before each lookup this reads `--flush` MiB of other memory (default 4: twice this machine's L2
 * cache; 64 empties its L3 too), then times the lookup alone, with what a request does with the match (its target,
 * its depth, its activity note). The `runMicro` harness cannot do this: it times whole calls, and the flush would
 * swamp the lookup. Printed: ns per lookup among 1 and among 10,000 routes, and the difference, which is what the
 * 10,000-route share of scenario 5 pays per request.
 *
 *   npm run build && node dist/bench/micro/cold-lookup.js [--flush 4] [--lookups 20000]
 */
import { parseArgs } from "node:util";
import { MemoryRouteStore } from "../../src/routing/memory-route-store.js";
import { median } from "../lib/stats.js";

const { values } = parseArgs({
  options: { flush: { type: "string", default: "4" }, lookups: { type: "string", default: "20000" } },
});
const flushMiB = Number(values.flush);
const lookups = Number(values.lookups);
if (!(flushMiB > 0) || !Number.isInteger(lookups) || lookups < 1)
  throw new Error("--flush must be a positive number of MiB and --lookups a positive integer");

const ROUTES = 10_000;
const TARGET = "http://127.0.0.1:8888";
const ROUNDS = 5;

function store(routes: number): MemoryRouteStore {
  const built = new MemoryRouteStore();
  built.add("/", { target: TARGET });
  for (let i = 0; i < routes; i++)
    built.add(`/user/u${i}`, { user: `u${i}`, server_name: "", target: TARGET, jupyterhub: true });
  return built;
}

const other = new Float64Array((flushMiB * 1024 * 1024) / 8);
/** Reads one value per cache line of `other`; the sum keeps the reads from being optimised away. */
function flush(): number {
  let sum = 0;
  for (let i = 0; i < other.length; i += 8) sum += other[i];
  return sum;
}

/** ns per lookup, the lookups alone timed, each after a flush. */
function coldLookups(routes: MemoryRouteStore, paths: string[]): number {
  let ns = 0n;
  let check = 0;
  for (const path of paths) {
    check += flush();
    const started = process.hrtime.bigint();
    const match = routes.getTarget(path);
    if (match === undefined) throw new Error(`no route for ${path}`);
    match.noteActivity?.(Date.now());
    check += (match.parsedTarget?.().port ?? 0) + (match.depth ?? 0);
    ns += process.hrtime.bigint() - started;
  }
  if (check === 0) throw new Error("lookups returned nothing");
  return Number(ns) / paths.length;
}

const one = store(1);
const many = store(ROUTES);
// The one-route store has /user/u0 too, so both walk the same depth; only the table's size differs.
const onePaths = Array.from({ length: lookups }, () => "/user/u0/api/status");
const spreadPaths = Array.from({ length: lookups }, (_, i) => `/user/u${(i * 7919) % ROUTES}/api/status`);
const atOne: number[] = [];
const atMany: number[] = [];
for (let round = 0; round < ROUNDS + 1; round++) {
  const oneNs = coldLookups(one, onePaths);
  const manyNs = coldLookups(many, spreadPaths);
  // The first round warms the JIT.
  if (round === 0) continue;
  atOne.push(oneNs);
  atMany.push(manyNs);
}
const [oneNs, manyNs] = [median(atOne) ?? NaN, median(atMany) ?? NaN];
process.stdout.write(
  `cold route lookup, ${flushMiB} MiB read before each — node ${process.version}, median of ${ROUNDS} rounds\n` +
    `  among 1 route        ${oneNs.toFixed(0).padStart(6)} ns\n` +
    `  among ${ROUTES.toLocaleString("en-US")} routes  ${manyNs.toFixed(0).padStart(6)} ns\n` +
    `  difference           ${(manyNs - oneNs).toFixed(0).padStart(6)} ns\n`,
);
