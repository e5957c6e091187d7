import t from "tap";
import { FOLDED, NOT_NOTED, RouteCells } from "../../../src/routing/route-cells.js";

t.test("each route's four numbers are its own, through growth", async (t) => {
  const cells = new RouteCells();
  const routes = Array.from({ length: 1000 }, (_, i) => cells.open(i % 7, i % 5));
  t.same(new Set(routes).size, 1000, "distinct numbers");
  routes.forEach((route, i) => cells.setNote(route, i));
  let wrong = 0;
  routes.forEach((route, i) => {
    if (cells.target(route) !== i % 7 || cells.depth(route) !== i % 5 || cells.note(route) !== i) wrong++;
    if (cells.generation(route) !== 0) wrong++;
  });
  t.equal(wrong, 0);
  cells.setTarget(routes[3], 42);
  t.equal(cells.target(routes[3]), 42);
  t.equal(cells.target(routes[4]), 4 % 7, "its neighbour unchanged");
});

t.test("a closed number moves on a generation, drops its note and is reused", async (t) => {
  const cells = new RouteCells();
  const a = cells.open(1, 2);
  const b = cells.open(3, 4);
  cells.setNote(a, 500);
  cells.close(a);
  t.equal(cells.generation(a), 1);
  t.equal(cells.note(a), NOT_NOTED);
  const c = cells.open(5, 6);
  t.equal(c, a, "reused");
  t.equal(cells.generation(c), 1, "with the generation a holder of the old route can tell apart");
  t.same([cells.target(c), cells.depth(c), cells.note(c)], [5, 6, NOT_NOTED]);
  t.same([cells.target(b), cells.depth(b), cells.generation(b)], [3, 4, 0], "others untouched");
  cells.setNote(b, FOLDED);
  t.equal(cells.note(b), FOLDED);
});
