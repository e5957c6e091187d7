import t from "tap";
import type { RouteChange } from "../../../src/routing/redis/change-message.js";
import { ChangeSequencer } from "../../../src/routing/redis/change-sequencer.js";
import { sleep } from "../../support/wait.js";

const remove = (seq: number, epoch = "e"): RouteChange => ({ epoch, seq, op: "remove", path: `/r${seq}` });

function sequencer(gapWaitMs = 30) {
  const applied: number[] = [];
  const reloads: string[] = [];
  const s = new ChangeSequencer(
    { apply: (change) => applied.push(change.seq), reloadNeeded: (reason) => reloads.push(reason) },
    gapWaitMs,
  );
  return { s, applied, reloads };
}

t.test("in order: applied at once, each number once", async (t) => {
  const { s, applied, reloads } = sequencer();
  s.reset("e", 0);
  s.offer(remove(1));
  s.offer(remove(2));
  s.offer(remove(2));
  s.offer(remove(1));
  t.same(applied, [1, 2]);
  t.same(s.position, { epoch: "e", seq: 2 });
  t.same(reloads, []);
  s.close();
});

t.test("out of order: a change waits for the one before it", async (t) => {
  const { s, applied, reloads } = sequencer();
  s.reset("e", 4);
  s.offer(remove(6));
  s.offer(remove(7));
  t.same(applied, []);
  s.offer(remove(5));
  t.same(applied, [5, 6, 7]);
  await sleep(60);
  t.same(reloads, [], "the gap closed in time: no reload");
  s.close();
});

t.test("a gap that stays: reload asked once the wait is over", async (t) => {
  const { s, applied, reloads } = sequencer(30);
  s.reset("e", 0);
  s.offer(remove(2));
  await sleep(80);
  t.same(applied, []);
  t.same(reloads, ["change 1 did not arrive within 30 ms"]);
  s.reset("e", 2);
  t.same(s.position.seq, 2);
  s.close();
});

t.test("held during a reload: applied after it, only above the snapshot's number", async (t) => {
  const { s, applied, reloads } = sequencer();
  s.reset("e", 3);
  s.hold();
  s.offer(remove(4));
  s.offer(remove(5));
  s.offer(remove(6));
  t.same(applied, [], "nothing applied while holding");
  s.reset("e", 5);
  t.same(applied, [6]);
  t.same(reloads, []);
  s.close();
});

t.test("a failed reload releases the held changes in order", async (t) => {
  const { s, applied } = sequencer();
  s.reset("e", 0);
  s.hold();
  s.offer(remove(2));
  s.offer(remove(1));
  s.release();
  t.same(applied, [1, 2]);
  s.close();
});

t.test("another table's messages ask for a reload; the replaced table's are ignored after it", async (t) => {
  const { s, applied, reloads } = sequencer();
  s.reset("old", 9);
  s.offer({ epoch: "new", seq: 0, op: "reset" });
  t.same(reloads, ["the table in Redis was replaced"]);
  s.hold();
  s.offer(remove(10, "old"));
  s.offer(remove(1, "new"));
  s.reset("new", 0);
  t.same(applied, [1]);
  t.same(reloads.length, 1, "the old table's message during the reload is no sign of anything");
  s.close();
});

t.test(
  "waitFor: true when the change is in, false after the timeout, true when the table was replaced",
  async (t) => {
    const { s } = sequencer(1000);
    s.reset("e", 0);
    t.equal(await s.waitFor("e", 0, 10), true, "already in");
    const waiting = s.waitFor("e", 2, 5000);
    s.offer(remove(2));
    s.offer(remove(1));
    t.equal(await waiting, true);
    t.equal(await s.waitFor("e", 5, 20), false, "never came");
    const replaced = s.waitFor("e", 9, 5000);
    s.reset("other", 0);
    t.equal(await replaced, true);
    const closing = s.waitFor("other", 3, 5000);
    s.close();
    t.equal(await closing, false);
  },
);
