import t from "tap";
import { CorruptValueLog } from "../../../src/routing/redis/corrupt-value-log.js";
import { LocalRouteTable, parseSnapshot, type Snapshot } from "../../../src/routing/redis/local-table.js";
import { captureLogger } from "../../support/log-capture.js";

function table() {
  const { logger, messages } = captureLogger();
  const corrupt = new CorruptValueLog(logger);
  return { local: new LocalRouteTable(corrupt), corrupt, messages };
}

const fields = (target: string, extra: Record<string, unknown> = {}) =>
  Object.entries({ target, ...extra }).flatMap(([key, value]) => [key, JSON.stringify(value)]);

function snapshot(
  epoch: string,
  seq: number,
  routes: Snapshot["routes"],
  activity: Array<[string, number]> = [],
) {
  return { epoch, seq, routes, activity: new Map(activity) };
}

t.test("parseSnapshot: values written by hand are skipped with one warning each", async (t) => {
  const { corrupt, messages } = table();
  const parsed = parseSnapshot(
    [
      "e",
      "4",
      ["/a", "17", "/b", "soon"],
      [
        ["/a", "3", fields("http://a")],
        ["b/", "4", fields("http://b")],
      ],
    ],
    corrupt,
  );
  t.equal(parsed.epoch, "e");
  t.equal(parsed.seq, 4);
  t.same([...parsed.activity], [["/a", 17]]);
  t.same(
    parsed.routes.map((route) => route.path),
    ["/a"],
  );
  t.same(messages(), [
    "Redis route store: skipping activity of /b: 'soon' is not a time",
    "Redis route store: skipping route 'b/': not a route path",
  ]);
  parseSnapshot(["e", "4", ["/b", "soon"], []], corrupt);
  t.equal(messages().length, 2, "the same bad value is not logged again");
  t.throws(() => parseSnapshot(["e", "x", [], []], corrupt), /change number in Redis is not a number/);
  t.throws(() => parseSnapshot("nope", corrupt), /unexpected snapshot reply/);
});

t.test("load: the copy equals the snapshot; unchanged routes keep their lasting object", async (t) => {
  const { local } = table();
  local.load(
    snapshot(
      "e",
      2,
      [
        { path: "/a", changeSeq: "1", fields: fields("http://a:1") },
        { path: "/b", changeSeq: "2", fields: fields("http://b:1", { user: "bob" }) },
      ],
      [["/a", 100]],
    ),
  );
  t.same(local.all(), {
    "/a": { target: "http://a:1", last_activity: new Date(100) },
    "/b": { target: "http://b:1", user: "bob" },
  });
  local.routes.getTarget("/a/x")?.noteActivity?.(300);
  local.load(
    snapshot(
      "e",
      4,
      [
        { path: "/a", changeSeq: "1", fields: fields("http://a:1") },
        { path: "/c", changeSeq: "4", fields: fields("http://c:1") },
      ],
      [["/a", 200]],
    ),
  );
  t.same(Object.keys(local.all()), ["/a", "/c"], "/b removed, /c added");
  t.same(
    local.routes.get("/a")?.last_activity,
    new Date(300),
    "an unchanged route is not rebuilt: the note taken before the load survives the older activity folded in",
  );
  t.equal(local.size, 2);
});

t.test("load: another table epoch rebuilds every route", async (t) => {
  const { local } = table();
  local.load(snapshot("e1", 1, [{ path: "/a", changeSeq: "1", fields: fields("http://a:1") }]));
  local.routes.getTarget("/a")?.noteActivity?.(5000);
  local.load(snapshot("e2", 0, [{ path: "/a", changeSeq: "1", fields: fields("http://a:2") }]));
  t.equal(
    local.routes.get("/a")?.last_activity,
    undefined,
    "rebuilt: the note taken before is not folded in",
  );
  t.equal(local.routes.get("/a")?.target, "http://a:2");
  t.equal(local.epoch, "e2");
});

t.test(
  "load: corrupt routes are left out (and a stale copy of them dropped), with one warning",
  async (t) => {
    const { local, messages } = table();
    local.load(snapshot("e", 1, [{ path: "/a", changeSeq: "1", fields: fields("http://a:1") }]));
    local.load(
      snapshot("e", 3, [
        { path: "/a", changeSeq: "2", fields: ["target", "{oops"] },
        { path: "/b", changeSeq: "3", fields: "WRONGTYPE" },
        { path: "/c", changeSeq: "3", fields: [] },
        { path: "/d", changeSeq: "3", fields: fields("http://d:1") },
      ]),
    );
    t.same(Object.keys(local.all()), ["/d"]);
    t.same(messages(), [
      "Redis route store: skipping route /a: field 'target' is not JSON",
      "Redis route store: skipping route /b: not a hash",
      "Redis route store: skipping route /c: no data",
    ]);
  },
);

t.test("apply: add, update (merge, activity only forward), remove", async (t) => {
  const { local } = table();
  local.load(snapshot("e", 0, []));
  local.apply({
    epoch: "e",
    seq: 1,
    op: "add",
    path: "/a",
    data: { target: "http://a:1", last_activity: new Date(50) },
  });
  local.apply({
    epoch: "e",
    seq: 2,
    op: "update",
    path: "/a",
    partial: { user: "ann", last_activity: new Date(40) },
  });
  t.same(local.routes.get("/a"), { target: "http://a:1", user: "ann", last_activity: new Date(50) });
  local.apply({ epoch: "e", seq: 3, op: "update", path: "/a", partial: { last_activity: new Date(60) } });
  t.same(local.routes.get("/a")?.last_activity, new Date(60));
  local.apply({ epoch: "e", seq: 4, op: "update", path: "/nope", partial: { user: "x" } });
  t.equal(local.routes.get("/nope"), undefined, "update of a missing route adds nothing");
  local.apply({ epoch: "e", seq: 5, op: "remove", path: "/a" });
  t.equal(local.size, 0);
});

t.test("activity: notes newer than what Redis holds are unsent until stored", async (t) => {
  const { local } = table();
  local.load(
    snapshot(
      "e",
      2,
      [
        { path: "/a", changeSeq: "1", fields: fields("http://a:1") },
        { path: "/b", changeSeq: "2", fields: fields("http://b:1") },
      ],
      [
        ["/a", 1000],
        ["/b", 1000],
      ],
    ),
  );
  t.same([...local.unsentActivity()], [], "nothing noted yet");
  local.routes.getTarget("/a")?.noteActivity?.(5000);
  const unsent = local.unsentActivity();
  t.same([...unsent], [["/a", 5000]]);
  local.markStored(unsent);
  t.same([...local.unsentActivity()], []);
  local.foldActivity(
    new Map([
      ["/b", 7000],
      ["/gone", 9000],
    ]),
  );
  t.same(local.routes.get("/b")?.last_activity, new Date(7000), "newer remote time folded in");
  t.same([...local.unsentActivity()], [], "a time learned from Redis is not sent back");
  local.foldActivity(new Map([["/a", 10]]));
  t.same(local.routes.get("/a")?.last_activity, new Date(5000), "an older remote time never moves it back");
});
