import t from "tap";
import { ReadHold, type HeldReads } from "../../../src/websocket/read-hold.js";
import { sleep } from "../../support/wait.js";

// One timer per window for every held socket: each is released once when the window of its first hold ends.

/** Timers that keep the process alive (Node lists only referenced ones). */
function referencedTimers(): number {
  return process.getActiveResourcesInfo().filter((name) => name === "Timeout").length;
}

class Counted implements HeldReads {
  releases = 0;
  releaseHold(): void {
    this.releases++;
  }
}

t.test("every read held in a window is released once when it ends", async (t) => {
  const hold = new ReadHold(30);
  const [a, b] = [new Counted(), new Counted()];
  hold.add(a);
  await sleep(10);
  hold.add(b);
  t.same([a.releases, b.releases], [0, 0], "nothing is released before the window ends");
  await sleep(40);
  t.same([a.releases, b.releases], [1, 1], "both released by the window that started with the first");
  await sleep(40);
  t.same([a.releases, b.releases], [1, 1], "and not again");
});

t.test("a read held after a window ended waits for a new window", async (t) => {
  const hold = new ReadHold(20);
  const a = new Counted();
  hold.add(a);
  await sleep(30);
  t.equal(a.releases, 1);
  hold.add(a);
  t.equal(a.releases, 1, "held again, not released at once");
  await sleep(30);
  t.equal(a.releases, 2);
});

t.test("a hold does not keep the process alive", async (t) => {
  const hold = new ReadHold(60_000);
  const timersBefore = referencedTimers();
  hold.add(new Counted());
  // The timer is unreferenced: were it not, tap would wait for it (a minute) before ending this file.
  t.equal(referencedTimers(), timersBefore, "no referenced timer was added");
});
