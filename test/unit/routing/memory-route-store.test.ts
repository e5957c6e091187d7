import t from "tap";
import { MemoryRouteStore } from "../../../src/routing/memory-route-store.js";
import { cleanRoutePath, type RouteData, type RouteMatch } from "../../../src/routing/route-store.js";

// CHP's store_spec.js on MemoryRouteStore, plus the path normalisation
// (CHP's trimPrefix) the API relies on.

const route = (target: string, extra: Record<string, unknown> = {}): RouteData => ({ target, ...extra });

t.test("cleanRoutePath: leading / added, one trailing / removed, / kept", async (t) => {
  t.equal(cleanRoutePath(""), "/");
  t.equal(cleanRoutePath("/"), "/");
  t.equal(cleanRoutePath("foo"), "/foo");
  t.equal(cleanRoutePath("/foo/"), "/foo");
  t.equal(cleanRoutePath("/foo/bar"), "/foo/bar");
  t.equal(cleanRoutePath("/foo//"), "/foo/", "only one trailing slash");
});

t.test("47: get returns the data for the path", async (t) => {
  const store = new MemoryRouteStore();
  store.add("/myRoute", route("http://localhost:8213"));
  t.same(store.get("/myRoute"), { target: "http://localhost:8213" });
  t.same(store.get("/myRoute/"), { target: "http://localhost:8213" }, "trailing slash is the same route");
  t.same(store.get("myRoute"), { target: "http://localhost:8213" }, "so is a missing leading slash");
});

t.test("48: get returns undefined when not found", async (t) => {
  const store = new MemoryRouteStore();
  t.equal(store.get("/wut"), undefined);
  store.add("/myRoute", route("http://localhost:8213"));
  t.equal(store.get("/myRoute/sub"), undefined, "get is exact, not a prefix match");
});

t.test("49: getTarget returns the matching prefix and its data", async (t) => {
  const store = new MemoryRouteStore();
  store.add("/myRoute", route("http://localhost:8213"));
  const match = store.getTarget("/myRoute/some/path");
  t.equal(match?.prefix, "/myRoute");
  t.equal(match?.data.target, "http://localhost:8213");
  t.equal(store.getTarget("/other"), undefined);
});

t.test("50: getAll returns all routes keyed by path, in insertion order", async (t) => {
  const store = new MemoryRouteStore();
  store.add("/myRoute", route("http://localhost:8213"));
  store.add("/myOtherRoute/", route("http://localhost:8214"));
  const all = store.getAll();
  t.same(Object.keys(all), ["/myRoute", "/myOtherRoute"]);
  t.same(all["/myRoute"], { target: "http://localhost:8213" });
  t.same(all["/myOtherRoute"], { target: "http://localhost:8214" });
});

t.test("51: getAll returns a blank object when no routes are defined", async (t) => {
  t.same(new MemoryRouteStore().getAll(), {});
});

t.test("52: add stores the data at the path", async (t) => {
  const store = new MemoryRouteStore();
  store.add("/myRoute", route("http://localhost:8213", { user: "a" }));
  t.same(store.get("/myRoute"), { target: "http://localhost:8213", user: "a" });
  t.equal(store.size, 1);
});

t.test("53: add overwrites existing values and keeps the key's position", async (t) => {
  const store = new MemoryRouteStore();
  store.add("/first", route("http://localhost:1"));
  store.add("/myRoute", route("http://localhost:8213", { old: true }));
  store.add("/myRoute", route("http://localhost:8214"));
  t.same(store.get("/myRoute"), { target: "http://localhost:8214" }, "replaced, not merged");
  t.same(Object.keys(store.getAll()), ["/first", "/myRoute"]);
  t.equal(store.getTarget("/myRoute/x")?.data.target, "http://localhost:8214", "lookups see the new data");
});

t.test("54: update merges the supplied data into the existing data", async (t) => {
  const store = new MemoryRouteStore();
  store.add("/myRoute", route("http://localhost:8213", { version: 1, test: "value" }));
  store.update("/myRoute", { version: 2 });
  t.same(store.get("/myRoute"), { target: "http://localhost:8213", version: 2, test: "value" });
  t.equal(store.getTarget("/myRoute/x")?.data.version, 2, "the trie shares the same data object");
  store.update("/missing", { version: 3 });
  t.equal(store.get("/missing"), undefined, "update does not create routes");
});

t.test("55: remove removes the route from the table and from lookups", async (t) => {
  const store = new MemoryRouteStore();
  store.add("/", route("http://root"));
  store.add("/myRoute", route("http://localhost:8213"));
  store.remove("/myRoute/");
  t.equal(store.get("/myRoute"), undefined);
  t.equal(store.getTarget("/myRoute/x")?.prefix, "/", "falls back to /");
  t.same(Object.keys(store.getAll()), ["/"]);
});

t.test("56: remove doesn't explode when the route is not defined", async (t) => {
  const store = new MemoryRouteStore();
  store.add("/myRoute", route("http://localhost:8213"));
  t.doesNotThrow(() => store.remove("/myRoute/foo/bar"));
  t.doesNotThrow(() => store.remove("/nothing"));
  t.same(store.get("/myRoute"), { target: "http://localhost:8213" });
});

t.test("57-58: a route exists exactly when get finds it", async (t) => {
  const store = new MemoryRouteStore();
  store.add("/myRoute", route("http://localhost:8213"));
  t.ok(store.get("/myRoute"));
  t.notOk(store.get("/wut"));
});

t.test("prototype-like keys are ordinary routes", async (t) => {
  const store = new MemoryRouteStore();
  store.add("/__proto__", route("http://proto"));
  store.add("/constructor", route("http://ctor"));
  t.equal(store.get("/__proto__")?.target, "http://proto");
  t.equal(store.getTarget("/constructor/x")?.data.target, "http://ctor");
  t.same(Object.keys(store.getAll()), ["/__proto__", "/constructor"]);
  t.equal(store.get("/toString"), undefined);
});

t.test("activity noted on a match is folded into last_activity when the route is read", async (t) => {
  const store = new MemoryRouteStore();
  store.add("/user/a", route("http://a", { last_activity: new Date(1000) }));
  store.add("/user/b", route("http://b", { last_activity: new Date(1000) }));
  const a = store.getTarget("/user/a/lab") as RouteMatch;
  t.ok(a.noteActivity, "with a note slot");

  a.noteActivity?.(5000);
  store.getTarget("/user/a/api")?.noteActivity?.(7000);
  t.equal(a.data.last_activity?.getTime(), 1000, "a note is not a write");
  t.equal(store.get("/user/a")?.last_activity?.getTime(), 7000, "get folds in the newest note");
  store.getTarget("/user/b/x")?.noteActivity?.(6000);
  const all = store.getAll();
  t.equal(all["/user/b"].last_activity?.getTime(), 6000, "getAll folds in notes too");

  a.noteActivity?.(3000);
  t.equal(store.get("/user/a")?.last_activity?.getTime(), 7000, "an older note never moves it back");

  a.noteActivity?.(9000);
  store.add("/user/a", route("http://a2", { last_activity: new Date(2000) }));
  t.equal(store.get("/user/a")?.last_activity?.getTime(), 2000, "a re-added route starts from its own time");
  a.noteActivity?.(2500);
  t.equal(
    store.get("/user/a")?.last_activity?.getTime(),
    2500,
    "a match made before the route was re-added notes on the route now at its path, as CHP records by path",
  );
  t.equal(a.data.target, "http://a2", "and reads its data");
  store.remove("/user/a");
  a.noteActivity?.(9500);
  t.equal(store.get("/user/a"), undefined, "notes on a removed route create nothing");
  t.equal(a.prefix, "/user/a", "a match outliving its route still names its prefix");
  t.equal(a.data.target, "http://a2", "and the data it read last");
  const unread = store.getTarget("/user/b/lab") as RouteMatch;
  store.remove("/user/b");
  t.equal(unread.prefix, "/user/b", "one never read names the prefix it matched in the path");
  t.same(unread.data, { target: "http://b" }, "and the target it matched");
  store.add("/user/c", route("http://c", { last_activity: new Date(1000) }));
  a.noteActivity?.(9900);
  t.equal(store.get("/user/c")?.last_activity?.getTime(), 1000, "nor on the route that took its number next");
  t.equal(a.prefix, "/user/a", "whose prefix the old match does not take");
});

t.test(
  "notes far from the store's epoch (≈ 12 days on, or the clock stepping back) keep every route's time",
  async (t) => {
    const store = new MemoryRouteStore();
    const start = Date.now();
    store.add("/user/a", route("http://a", { last_activity: new Date(0) }));
    store.add("/user/b", route("http://b", { last_activity: new Date(0) }));
    const a = store.getTarget("/user/a") as RouteMatch;
    const b = store.getTarget("/user/b") as RouteMatch;

    a.noteActivity?.(start + 1000);
    const later = start + 2 ** 31;
    b.noteActivity?.(later);
    t.equal(
      store.get("/user/a")?.last_activity?.getTime(),
      start + 1000,
      "a note taken before a new epoch survives",
    );
    t.equal(
      store.get("/user/b")?.last_activity?.getTime(),
      later,
      "the note past the old epoch's range is exact",
    );

    a.noteActivity?.(later + 5);
    t.equal(store.get("/user/a")?.last_activity?.getTime(), later + 5, "notes in the new epoch are exact");

    b.noteActivity?.(later + 7);
    a.noteActivity?.(start - 60_000);
    t.equal(
      store.get("/user/b")?.last_activity?.getTime(),
      later + 7,
      "the clock stepping back loses no note",
    );
    t.equal(store.get("/user/a")?.last_activity?.getTime(), later + 5, "and moves no time backwards");
  },
);

t.test(
  "a match keeps its depth and parsed target; the next lookup sees an update of the target",
  async (t) => {
    const store = new MemoryRouteStore();
    store.add("/user/a/", route("http://127.0.0.1:8001/base"));
    const match = store.getTarget("/user/a/lab/tree") as RouteMatch;
    t.equal(match.depth, 2, "segments in the route's prefix");
    const parsed = match.parsedTarget?.();
    t.match(parsed, { key: "http://127.0.0.1:8001", basePath: "/base" });
    t.equal(match.parsedTarget?.(), parsed, "parsed once");
    store.update("/user/a", { target: "http://127.0.0.1:8002" });
    t.match(
      store.getTarget("/user/a/lab")?.parsedTarget?.(),
      { key: "http://127.0.0.1:8002", basePath: "" },
      "the next lookup sees an update that changed the target",
    );
    t.equal(match.parsedTarget?.(), parsed, "a match keeps the target it was made with");
    store.add("/bad", route("ftp://example.com"));
    t.throws(() => (store.getTarget("/bad") as RouteMatch).parsedTarget?.(), /Unexpected protocol/);
    t.equal((store.getTarget("/") as RouteMatch | undefined)?.depth, undefined, "no match, no depth");
  },
);

t.test("routes naming one target share its parsed form; a target no route names is forgotten", async (t) => {
  const store = new MemoryRouteStore();
  for (let i = 0; i < 100; i++) store.add(`/user/u${i}`, route("http://127.0.0.1:9000"));
  t.equal(store.targetCount, 1);
  const first = store.getTarget("/user/u0/x")?.parsedTarget?.();
  t.equal(store.getTarget("/user/u99/x")?.parsedTarget?.(), first, "one parsed target for all");
  store.update("/user/u1", { target: "http://127.0.0.1:9001" });
  store.add("/user/u2", route("http://127.0.0.1:9002"));
  t.equal(store.targetCount, 3, "an update and a re-add each name a new one");
  t.match(store.getTarget("/user/u2")?.parsedTarget?.(), { port: 9002 });
  store.update("/user/u1", { target: "http://127.0.0.1:9000" });
  store.remove("/user/u2");
  t.equal(store.targetCount, 1, "and the old ones are forgotten with their last route");
  for (let i = 0; i < 100; i++) store.remove(`/user/u${i}`);
  t.equal(store.targetCount, 0);
});

t.test("route numbers reused through churn never mix two routes' activity or targets", async (t) => {
  const store = new MemoryRouteStore();
  const target = (i: number) => `http://127.0.0.1:${10000 + i}`;
  for (let i = 0; i < 300; i++) store.add(`/user/u${i}`, route(target(i), { last_activity: new Date(0) }));
  const old = Array.from({ length: 300 }, (_, i) => store.getTarget(`/user/u${i}/x`) as RouteMatch);
  for (let i = 0; i < 300; i += 2) store.remove(`/user/u${i}`);
  for (let i = 300; i < 450; i++) store.add(`/user/u${i}`, route(target(i), { last_activity: new Date(0) }));
  // Every old match notes at its own index's time: only those of routes still in the table may land.
  old.forEach((match, i) => match.noteActivity?.(1000 + i));
  let wrong = 0;
  for (let i = 0; i < 450; i++) {
    const data = store.get(`/user/u${i}`);
    const expected = i >= 300 ? 0 : i % 2 === 0 ? undefined : 1000 + i;
    if (expected === undefined ? data !== undefined : data?.last_activity?.getTime() !== expected) wrong++;
    const match = store.getTarget(`/user/u${i}/lab`);
    if (expected !== undefined && match?.parsedTarget?.().port !== 10000 + i) wrong++;
    if (expected !== undefined && match?.prefix !== `/user/u${i}`) wrong++;
  }
  t.equal(wrong, 0, "450 routes, 150 of them on reused numbers: each with its own time, target and prefix");
});

t.test("getAllJson is JSON.stringify(getAll()) through notes, updates, re-adds and removals", async (t) => {
  const store = new MemoryRouteStore();
  const same = (why: string) => t.equal(store.getAllJson().toString(), JSON.stringify(store.getAll()), why);
  same("empty table");
  store.add("/", route("http://hub", { last_activity: new Date(1000) }));
  store.add("/user/a", route("http://a", { user: "a", server_name: "", last_activity: new Date(1000) }));
  store.add('/user/"quoted"', route("http://q", { last_activity: new Date(1000) }));
  same("fresh routes, keys that need escaping");
  same("served again from what was kept");
  store.getTarget("/user/a/api")?.noteActivity?.(Date.now());
  same("after a note");
  store.update("/", { target: "http://hub2", extra: [1, 2] });
  same("after an update");
  store.add("/user/a", route("http://a2", { last_activity: new Date(5) }));
  store.remove('/user/"quoted"');
  same("after a re-add and a removal");
  t.match(JSON.parse(store.getAllJson().toString()), {
    "/": { target: "http://hub2" },
    "/user/a": { target: "http://a2" },
  });
  store.update("/user/a", { last_activity: new Date(7000) });
  same("after an update of last_activity alone (the JSON around the date is kept)");
  store.update("/user/a", { note: '"last_activity":"x"\u0000' });
  same("after an update with text that looks like the date's place");
  store.add("/user/b", route("http://b", { last_activity: new Date(1000), after: { last_activity: 0 } }));
  same("last_activity before other keys, one of them holding a nested last_activity");
  store.update("/user/b", { last_activity: "not a date" as unknown as Date });
  same("a last_activity that is not a Date");
  store.getTarget("/user/b")?.noteActivity?.(Date.now());
  same("a note on it folds a Date back in");
  store.add("/user/ü", route("http://u", { user: "ü", last_activity: new Date(1000) }));
  same("non-ASCII text before the date (byte offsets, not characters)");
  store.getTarget("/user/ü")?.noteActivity?.(Date.now() + 5000);
  same("its date moved, written in place");
  const earlier = store.getAllJson();
  const copy = Buffer.from(earlier);
  store.getTarget("/user/ü")?.noteActivity?.(Date.now() + 9000);
  same("moved again");
  t.same(earlier, copy, "the table's JSON handed out before is not changed by later notes");
  store.update("/user/ü", { last_activity: new Date(Date.UTC(12000, 0, 1)) });
  same("a year past 9999 (a longer date)");
  store.update("/user/ü", { last_activity: new Date(NaN) });
  same("an invalid Date (null in JSON)");
});

t.test("a route replaced before its entry was made keeps its place in the table's JSON", async (t) => {
  const store = new MemoryRouteStore();
  store.add("/user/a", route("http://a1", { last_activity: new Date(1000) }));
  store.add("/user/c", route("http://c", { last_activity: new Date(1000) }));
  store.add("/user/a", route("http://a2", { last_activity: new Date(2000) }));
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(store.getAllJson().toString(), JSON.stringify(store.getAll()));
  t.same(Object.keys(JSON.parse(store.getAllJson().toString()) as object), ["/user/a", "/user/c"]);
});

t.test(
  "getAllJson stays JSON.stringify(getAll()) over a long random run of changes (memory grown, laid out again, entries made after the turn or at the answer)",
  async (t) => {
    // A fixed-seed generator: the same run every time, enough routes to outgrow the table's first memory many times.
    let seed = 17;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return Math.floor((seed / 2 ** 31) * n);
    };
    const store = new MemoryRouteStore();
    const now = Date.now();
    let checks = 0;
    let differences = 0;
    let longest = 0;
    for (let step = 0; step < 6000; step++) {
      const path = `/user/u${next(400)}${next(3) === 0 ? "/é" : ""}`;
      switch (next(6)) {
        case 0:
        case 1:
          store.add(
            path,
            route(`http://10.0.0.${next(250)}:8888`, {
              user: path,
              last_activity: new Date(now + next(1e6)),
            }),
          );
          break;
        case 2:
          store.update(
            path,
            next(2) === 0 ? { last_activity: new Date(now + next(1e6)) } : { extra: "x".repeat(next(50)) },
          );
          break;
        case 3:
          if (next(3) === 0) store.remove(path);
          break;
        default:
          store.getTarget(`${path}/api/kernels`)?.noteActivity?.(now + next(2e6));
      }
      // New routes' entries are made after the turn or before an answer, whichever comes first: both happen here.
      if (next(40) === 0) await new Promise((resolve) => setImmediate(resolve));
      if (next(25) === 0) {
        checks++;
        const json = store.getAllJson();
        longest = Math.max(longest, json.length);
        if (json.toString() !== JSON.stringify(store.getAll())) differences++;
      }
    }
    t.ok(checks > 100, `compared ${checks} times`);
    t.equal(differences, 0, "the same JSON, in the same order, at every comparison");
    t.ok(store.size > 200, `${store.size} routes at the end`);
    t.ok(longest > 32 * 1024, `the table's JSON grew to ${longest} bytes (its first memory holds 16 KiB)`);
  },
);

t.test(
  "getAllJson after updates of last_activity alone (written in place) to every kind of date",
  async (t) => {
    const store = new MemoryRouteStore();
    const same = (why: string) => t.equal(store.getAllJson().toString(), JSON.stringify(store.getAll()), why);
    store.add("/user/a", route("http://a", { user: "a", last_activity: new Date(1000) }));
    store.add("/user/b", route("http://b", { last_activity: new Date(1000) }));
    same("fresh");
    store.update("/user/a", { last_activity: new Date(2000) });
    same("a later date");
    store.update("/user/a", { last_activity: new Date(500) });
    same("an earlier date (an update sets what it is given)");
    store.update("/user/a", { last_activity: new Date(NaN) });
    same("an invalid Date");
    store.update("/user/b", { last_activity: new Date(Date.UTC(12000, 0, 1)) });
    same("a year past 9999");
    store.update("/user/b", { last_activity: new Date(3000) });
    store.update("/user/a", { last_activity: new Date(4000) });
    same("ordinary dates again");
  },
);

t.test("forEachRoute visits every route in the table's order, notes folded in", async (t) => {
  const store = new MemoryRouteStore();
  store.add("/b", route("http://b", { last_activity: new Date(1000) }));
  store.add("/a", route("http://a", { last_activity: new Date(1000) }));
  store.getTarget("/a/x")?.noteActivity?.(5000);
  const seen: Array<[string, number | undefined]> = [];
  store.forEachRoute((path, data) => seen.push([path, data.last_activity?.getTime()]));
  t.same(seen, [
    ["/b", 1000],
    ["/a", 5000],
  ]);
});

t.test("the store announces its changes to whoever listens (the admin page)", async (t) => {
  const { events } = await import("../../../src/events.js");
  const seen: unknown[] = [];
  const stop = events.routeChanged.subscribe((change) => seen.push(change));
  t.teardown(stop);
  const store = new MemoryRouteStore();
  store.add("/user/ann/", { target: "http://127.0.0.1:1" });
  store.update("/user/ann", { last_activity: new Date() });
  store.remove("/user/ann");
  store.remove("/user/ann");
  t.same(
    seen,
    [{ path: "/user/ann", target: "http://127.0.0.1:1" }, { path: "/user/ann" }],
    "added and removed, once each",
  );
});
