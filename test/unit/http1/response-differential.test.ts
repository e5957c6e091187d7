import t from "tap";
import { escapeBytes, runDifferential } from "../../differential/differential.js";
import { crossCheckClient } from "../../differential/node-client-oracle.js";

// The proxy's response parser against llhttp (Node's own HTTP client, strict) on generated responses, valid and
// mutated: same verdict, head, body, end and keep-alive for every case, whatever the split. A fixed seed set runs
// here; `npm run test:differential` runs 100,000 cases.

const SEEDS = [1, 2, 3];
const CASES_PER_SEED = 1000;

for (const seed of SEEDS) {
  t.test(`seed ${seed}: ${CASES_PER_SEED} cases agree with llhttp`, async (t) => {
    const summary = runDifferential({ seed, cases: CASES_PER_SEED, keep: 3 });
    for (const d of summary.disagreements)
      t.fail(
        `case ${d.case.index} (${d.case.tags.join(", ")}), cuts ${JSON.stringify(d.cuts)}: ${d.difference}`,
        {
          proxy: d.proxy.error ?? "complete",
          llhttp: d.llhttp.error ?? "complete",
          bytes: escapeBytes(d.case.bytes),
        },
      );
    t.equal(summary.agreements, CASES_PER_SEED);
    // The generator is only useful if it reaches both verdicts, in quantity.
    t.ok(summary.accepted > CASES_PER_SEED / 4, `llhttp accepted ${summary.accepted}`);
    t.ok(summary.rejected > CASES_PER_SEED / 4, `llhttp refused ${summary.rejected}`);
  });
}

t.test("the in-process oracle is what Node's HTTP client does over a socket", async (t) => {
  const check = await crossCheckClient(1, 0, 200);
  for (const d of check.disagreements)
    t.fail(`case ${d.index}: ${d.difference}`, { bytes: escapeBytes(d.bytes) });
  t.equal(check.compared + check.skipped, 200);
  t.ok(check.compared > 190, `${check.compared} compared`);
});
