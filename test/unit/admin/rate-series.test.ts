import t from "tap";
import { RateSeries } from "../../../src/admin/rate-series.js";

t.test("counts per second, oldest first, over a fixed window", async (t) => {
  const series = new RateSeries(["a", "b"] as const, 3);
  t.same(series.history(), { times: [], values: { a: [], b: [] } });
  series.add("a");
  series.add("a", 4);
  t.same(series.roll(1000), { a: 5, b: 0 }, "roll returns the closed second");
  series.add("b");
  series.roll(2000);
  t.same(series.history(), { times: [1000, 2000], values: { a: [5, 0], b: [0, 1] } });
  series.add("a", 7);
  series.roll(3000);
  series.roll(4000);
  t.same(
    series.history(),
    { times: [2000, 3000, 4000], values: { a: [0, 7, 0], b: [1, 0, 0] } },
    "the oldest second left the window",
  );
});
