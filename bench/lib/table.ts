import { rawRatio, verdict, type Row, type ScenarioResult } from "./results.js";

const HEADERS = [
  "#",
  "measure",
  "unit",
  "direct",
  "CHP 5.3.0",
  "ltictr-proxy",
  "ltictr÷CHP",
  "goal",
  "verdict",
];

export function formatNumber(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return "–";
  const abs = Math.abs(value);
  if (abs >= 100) return Math.round(value).toLocaleString("en-US");
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 0.01 || abs === 0) return value.toFixed(2);
  return value.toPrecision(2);
}

function formatRatio(value: number | undefined): string {
  return value === undefined ? "–" : `${value.toFixed(2)}×`;
}

function cells(row: Row): string[] {
  return [
    String(row.scenario),
    row.label,
    row.unit,
    formatNumber(row.values.direct),
    formatNumber(row.values.chp),
    formatNumber(row.values.ltictr),
    formatRatio(rawRatio(row)),
    row.goal?.text ?? "",
    verdict(row) ?? "",
  ];
}

function allRows(results: readonly ScenarioResult[]): Row[] {
  return results.flatMap((r) => r.rows);
}

/** Fixed-width table for the terminal. */
export function renderTextTable(results: readonly ScenarioResult[]): string {
  const body = allRows(results).map(cells);
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const numeric = new Set([3, 4, 5, 6]);
  const line = (r: string[]) =>
    r
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  return [line(HEADERS), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

/** GitHub-flavoured Markdown table (for RESULTS.md). */
export function renderMarkdownTable(results: readonly ScenarioResult[]): string {
  const escape = (c: string) => c.replace(/\|/g, "\\|");
  const align = HEADERS.map((_, i) => ([3, 4, 5, 6].includes(i) ? "---:" : "---"));
  return [HEADERS, align, ...allRows(results).map(cells)]
    .map((r) => `| ${r.map(escape).join(" | ")} |`)
    .join("\n");
}
