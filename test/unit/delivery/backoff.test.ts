import t from "tap";
import { backoffDelay } from "../../../src/delivery/backoff.js";
import { seededRandom } from "../../support/frame-builder.js";

const policy = { baseMs: 100, maxMs: 1000 };

t.test("delays double per attempt within [ceiling/2, ceiling]", async (t) => {
  t.equal(
    backoffDelay(1, policy, () => 0),
    50,
  );
  t.equal(
    backoffDelay(1, policy, () => 1),
    100,
  );
  t.equal(
    backoffDelay(2, policy, () => 0),
    100,
  );
  t.equal(
    backoffDelay(3, policy, () => 1),
    400,
  );
  t.equal(
    backoffDelay(3, policy, () => 0.5),
    300,
  );
});

t.test("the ceiling stops growth, also for absurd attempt numbers", async (t) => {
  t.equal(
    backoffDelay(5, policy, () => 1),
    1000,
  );
  t.equal(
    backoffDelay(10_000, policy, () => 0),
    500,
  );
  t.equal(
    backoffDelay(0, policy, () => 1),
    100,
    "attempt < 1 counts as the first",
  );
});

t.test("jitter spreads delays", async (t) => {
  const random = seededRandom(7);
  const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(4, policy, random)));
  t.ok(delays.size > 40, "nearly every delay differs");
  for (const delay of delays) t.ok(delay >= 400 && delay <= 800, `${delay} within bounds`);
});
