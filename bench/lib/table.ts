import { baselineRatio, rawRatio, verdict, type Row, type ScenarioResult } from "./results.js";

interface Column {
  header: string;
  numeric: boolean;
  cell(row: Row): string;
}

const COLUMNS: readonly Column[] = [
  { header: "#", numeric: false, cell: (row) => String(row.scenario) },
  { header: "measure", numeric: false, cell: (row) => row.label },
  { header: "unit", numeric: false, cell: (row) => row.unit },
  { header: "direct", numeric: true, cell: (row) => formatNumber(row.values.direct) },
  { header: "CHP 5.3.0", numeric: true, cell: (row) => formatNumber(row.values.chp) },
  { header: "ltictr-proxy", numeric: true, cell: (row) => formatNumber(row.values.ltictr) },
  { header: "ltictr÷CHP", numeric: true, cell: (row) => formatRatio(rawRatio(row)) },
  { header: "goal", numeric: false, cell: (row) => row.goal?.text ?? "" },
  { header: "verdict", numeric: false, cell: (row) => verdict(row) ?? "" },
];

/** Shown only in runs with a `--baseline` build. */
const BASELINE_COLUMNS: readonly Column[] = [
  { header: "baseline", numeric: true, cell: (row) => formatNumber(row.values.baseline) },
  { header: "ltictr÷baseline", numeric: true, cell: (row) => formatRatio(baselineRatio(row)) },
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

function allRows(results: readonly ScenarioResult[]): Row[] {
  return results.flatMap((r) => r.rows);
}

function columnsFor(rows: readonly Row[]): readonly Column[] {
  return rows.some((r) => r.values.baseline !== undefined) ? [...COLUMNS, ...BASELINE_COLUMNS] : COLUMNS;
}

/** Fixed-width table for the terminal. */
export function renderTextTable(results: readonly ScenarioResult[]): string {
  const rows = allRows(results);
  const columns = columnsFor(rows);
  const body = rows.map((row) => columns.map((c) => c.cell(row)));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...body.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (columns[i].numeric ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  const headers = columns.map((c) => c.header);
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

/** GitHub-flavoured Markdown table (for RESULTS.md). */
export function renderMarkdownTable(results: readonly ScenarioResult[]): string {
  const escape = (c: string) => c.replace(/\|/g, "\\|");
  const rows = allRows(results);
  const columns = columnsFor(rows);
  const align = columns.map((c) => (c.numeric ? "---:" : "---"));
  return [columns.map((c) => c.header), align, ...rows.map((row) => columns.map((c) => c.cell(row)))]
    .map((r) => `| ${r.map(escape).join(" | ")} |`)
    .join("\n");
}
