import t from "tap";
import { TargetTable } from "../../../src/routing/target-table.js";

t.test("one numbered target per URL, counted by its users, its number reused once forgotten", async (t) => {
  const targets = new TargetTable();
  const a = targets.use("http://a:1");
  t.equal(targets.use("http://a:1"), a, "the same URL is the same target");
  const b = targets.use("http://b:1");
  t.not(b.number, a.number);
  t.equal(targets.at(b.number), b);
  t.equal(targets.size, 2);
  targets.release(a.number);
  t.equal(targets.size, 2, "a still has a user");
  targets.release(a.number);
  t.equal(targets.size, 1, "forgotten with its last user");
  const c = targets.use("http://c:1");
  t.equal(c.number, a.number, "whose number the next new target takes");
  t.not(targets.use("http://a:1"), a, "a URL used again is a new target");
  targets.release(99);
  t.equal(targets.size, 3, "releasing a number no target has changes nothing");
});

t.test("a target is parsed once, and an unusable one throws at every use", async (t) => {
  const targets = new TargetTable();
  const good = targets.use("http://127.0.0.1:8001/base/");
  const parsed = good.parsed();
  t.match(parsed, { key: "http://127.0.0.1:8001", port: 8001, basePath: "/base" });
  t.equal(good.parsed(), parsed);
  const bad = targets.use("ftp://example.com");
  t.throws(() => bad.parsed(), /Unexpected protocol/);
  t.throws(() => bad.parsed(), /Unexpected protocol/);
});
