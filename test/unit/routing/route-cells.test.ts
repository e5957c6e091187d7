import t from "tap";
import { FOLDED, NOT_NOTED, RouteCells } from "../../../src/routing/route-cells.js";

t.test("each route's note is its own, through growth", async (t) => {
  const cells = new RouteCells();
  const routes = Array.from({ length: 1000 }, () => cells.open());
  t.same(new Set(routes).size, 1000, "distinct numbers");
  t.equal(
    routes.filter((route) => cells.note(route) !== NOT_NOTED).length,
    0,
    "a new route starts without a note",
  );
  routes.forEach((route, i) => cells.setNote(route, i));
  t.equal(routes.filter((route, i) => cells.note(route) !== i).length, 0);
  cells.setNote(routes[3], FOLDED);
  t.equal(cells.note(routes[3]), FOLDED);
  t.equal(cells.note(routes[4]), 4, "its neighbour unchanged");
});

t.test("a number closed after a stamp is seen closed since it, and is reused", async (t) => {
  const cells = new RouteCells();
  const a = cells.open();
  const b = cells.open();
  const before = cells.stamp();
  t.notOk(cells.closedSince(a, before), "nothing closed since the stamp");
  cells.setNote(a, 500);
  cells.close(a);
  t.ok(cells.closedSince(a, before), "a was closed after the stamp");
  t.notOk(cells.closedSince(b, before), "b was not, though a close happened since");
  t.equal(cells.note(a), NOT_NOTED, "the close dropped a's note");
  const c = cells.open();
  t.equal(c, a, "a's number is reused");
  t.ok(cells.closedSince(c, before), "and a holder of the old route's stamp still sees it closed");
  t.notOk(cells.closedSince(c, cells.stamp()), "a stamp taken after the reuse sees it open");
  const fresh = cells.open();
  t.notOk(cells.closedSince(fresh, cells.stamp()), "a fresh number is open for stamps taken after it");
});

t.test("stamps are compared across the close count's wrap-around", async (t) => {
  const cells = new RouteCells();
  const churn = cells.open();
  const kept = cells.open();
  // Closing and reopening one number walks the count; 2^31 closes would take long, so the count starts near its end.
  (cells as unknown as { closes: number }).closes = 2 ** 31 - 3;
  const stamp = cells.stamp();
  for (let i = 0; i < 6; i++) {
    cells.close(churn);
    t.equal(cells.open(), churn);
  }
  t.ok(cells.stamp() < 0, "the count wrapped");
  t.ok(cells.closedSince(churn, stamp), "closed after the stamp, across the wrap");
  t.notOk(cells.closedSince(kept, stamp), "never closed");
  t.notOk(cells.closedSince(churn, cells.stamp()), "open for a stamp taken after the wrap");
});
