/**
 * The long differential run: `npm run test:differential` (100,000 cases), or
 * `node dist/test/differential/run.js --cases N --seed S [--first I] [--client N]`.
 * `--client N` also runs the first N cases through Node's real HTTP client over loopback sockets and checks that
 * the in-process llhttp oracle agrees with it. Exits 1 on any disagreement.
 */
import { parseArgs } from "node:util";
import { escapeBytes, runDifferential, type DifferentialSummary } from "./differential.js";
import { crossCheckClient } from "./node-client-oracle.js";

function report(summary: DifferentialSummary): void {
  const seconds = (summary.elapsedMs / 1000).toFixed(1);
  console.log(`seed ${summary.seed}: ${summary.cases} cases in ${seconds} s`);
  console.log(
    `  llhttp accepted ${summary.accepted}, refused ${summary.rejected}; reusable after ${summary.reusable}`,
  );
  console.log(`  agreements ${summary.agreements} / ${summary.cases}`);
  console.log(
    `  of which decided by the documented deviation (HTTP/1.0 + Transfer-Encoding closes): ${summary.deviations}`,
  );
  console.log(`  disagreements ${summary.disagreementCount}`);
  for (const d of summary.disagreements) {
    console.log(
      `\n  case ${d.case.index} (${d.case.method}; ${d.case.tags.join(", ")}), cuts ${JSON.stringify(d.cuts)}`,
    );
    console.log(`    ${d.difference}`);
    console.log(`    proxy: ${d.proxy.error ?? "complete"}; llhttp: ${d.llhttp.error ?? "complete"}`);
    console.log(`    bytes: ${escapeBytes(d.case.bytes)}`);
  }
  const tags = [...summary.tags.entries()].sort(([a], [b]) => a.localeCompare(b));
  console.log("\n  cases per tag (disagreements):");
  for (const [tag, counts] of tags)
    console.log(`    ${tag.padEnd(34)} ${String(counts.cases).padStart(7)} (${counts.disagreements})`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      cases: { type: "string", default: "100000" },
      seed: { type: "string", default: "1" },
      first: { type: "string", default: "0" },
      keep: { type: "string", default: "10" },
      client: { type: "string", default: "0" },
    },
  });
  const seed = Number(values.seed);
  const cases = Number(values.cases);
  const first = Number(values.first);
  const summary = runDifferential({
    seed,
    cases,
    first,
    keep: Number(values.keep),
    onProgress: (done) => process.stderr.write(`  ${done} cases…\n`),
  });
  report(summary);
  let failed = summary.disagreementCount > 0;
  const clientCases = Number(values.client);
  if (clientCases > 0) {
    const check = await crossCheckClient(seed, first, clientCases);
    console.log(
      `\nNode's HTTP client over loopback, cases ${first}–${first + clientCases - 1}: ${check.compared} compared, ${check.skipped} skipped (101), ${check.disagreements.length} disagreements with the in-process oracle`,
    );
    for (const d of check.disagreements.slice(0, 10))
      console.log(`  case ${d.index}: ${d.difference}\n    bytes: ${escapeBytes(d.bytes)}`);
    failed ||= check.disagreements.length > 0;
  }
  process.exitCode = failed ? 1 : 0;
}

await main();
