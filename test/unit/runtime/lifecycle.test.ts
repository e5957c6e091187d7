import t from "tap";
import { Lifecycle } from "../../../src/runtime/lifecycle.js";
import { captureLogger } from "../../support/log-capture.js";

t.test("parts stop in the reverse order of their start, each once", async (t) => {
  const { logger } = captureLogger();
  const lifecycle = new Lifecycle(logger);
  const stopped: string[] = [];
  for (const name of ["store", "delivery", "listeners"])
    lifecycle.register(name, () => void stopped.push(name));
  await Promise.all([lifecycle.stop(1000), lifecycle.stop(1000)]);
  t.same(stopped, ["listeners", "delivery", "store"]);
  await lifecycle.stop(1000);
  t.same(stopped, ["listeners", "delivery", "store"], "a second stop stops nothing twice");
});

t.test(
  "a part that fails or overruns is logged, and the next ones still stop within the deadline",
  async (t) => {
    const { logger, messages } = captureLogger();
    const lifecycle = new Lifecycle(logger);
    const stopped: string[] = [];
    const remaining: number[] = [];
    lifecycle.register("store", (ms) => {
      remaining.push(ms);
      stopped.push("store");
    });
    lifecycle.register("hanging", () => new Promise(() => undefined));
    lifecycle.register("failing", () => {
      throw new Error("disk gone");
    });
    const started = Date.now();
    await lifecycle.stop(300);
    t.ok(Date.now() - started < 2000, "the hanging part does not hold the stop");
    t.same(stopped, ["store"], "the last part still stopped");
    t.ok(remaining[0] <= 300, "it was told the time left");
    t.ok(messages().some((m) => /Stopping failing failed: disk gone/.test(m)));
    t.ok(messages().some((m) => /hanging did not stop within the shutdown timeout/.test(m)));
  },
);
