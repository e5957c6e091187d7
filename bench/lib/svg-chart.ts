import { escapeXml } from "./escape-xml.js";
import { advantageOverChp, type Row } from "./results.js";

/**
 * A dependency-free horizontal bar chart: for every row that has CHP and ltictr-proxy values, how many times
 * better than CHP ltictr-proxy (blue) and the direct connection (grey) are — oriented so that longer is
 * better for every measure — with CHP at 1× and the goal as a red mark.
 */
const LABEL_WIDTH = 330;
const PLOT_WIDTH = 460;
const ROW_HEIGHT = 30;
const TOP = 56;
const BOTTOM = 40;

function goalAdvantage(row: Row): number | undefined {
  return row.goal?.kind === "vs-chp" ? row.goal.atLeast : undefined;
}

export function renderRatioChart(rows: readonly Row[], title: string): string {
  const charted = rows.filter((r) => advantageOverChp(r, "ltictr") !== undefined);
  // The direct path can be 20× CHP; scaling to it would flatten the bars that matter, so it is clipped.
  const values = charted.flatMap((r) => [advantageOverChp(r, "ltictr") ?? 0, goalAdvantage(r) ?? 0]);
  const max = Math.max(1.5, ...values) * 1.15;
  const x = (v: number) => LABEL_WIDTH + (Math.min(v, max) / max) * PLOT_WIDTH;
  const height = TOP + charted.length * ROW_HEIGHT + BOTTOM;
  const width = LABEL_WIDTH + PLOT_WIDTH + 110;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="10" y="40" fill="#444">times better than CHP 5.3.0 (lower-is-better measures inverted); ` +
      `<tspan fill="#1f77b4">■ ltictr-proxy</tspan> <tspan fill="#999">■ direct</tspan> <tspan fill="#d62728">| goal</tspan></text>`,
  ];
  charted.forEach((row, i) => {
    const y = TOP + i * ROW_HEIGHT;
    const ltictr = advantageOverChp(row, "ltictr") ?? 0;
    const direct = advantageOverChp(row, "direct");
    parts.push(
      `<text x="${LABEL_WIDTH - 8}" y="${y + 15}" text-anchor="end">${escapeXml(`${row.scenario}. ${row.label}`)}</text>`,
      `<rect x="${LABEL_WIDTH}" y="${y + 4}" width="${(x(ltictr) - LABEL_WIDTH).toFixed(1)}" height="14" fill="#1f77b4"/>`,
      `<text x="${(x(ltictr) + 4).toFixed(1)}" y="${y + 15}">${ltictr.toFixed(2)}×</text>`,
    );
    if (direct !== undefined) {
      parts.push(
        `<rect x="${LABEL_WIDTH}" y="${y + 20}" width="${(x(direct) - LABEL_WIDTH).toFixed(1)}" height="5" fill="#999"/>`,
      );
      if (direct > max) {
        parts.push(
          `<text x="${(x(max) + 4).toFixed(1)}" y="${y + 27}" font-size="10" fill="#777">direct ${direct.toFixed(1)}×</text>`,
        );
      }
    }
    const goal = goalAdvantage(row);
    if (goal !== undefined) {
      parts.push(
        `<line x1="${x(goal).toFixed(1)}" x2="${x(goal).toFixed(1)}" y1="${y + 1}" y2="${y + 27}" stroke="#d62728" stroke-width="2"/>`,
      );
    }
  });
  const axisY = TOP + charted.length * ROW_HEIGHT + 4;
  parts.push(
    `<line x1="${LABEL_WIDTH}" x2="${LABEL_WIDTH + PLOT_WIDTH}" y1="${axisY}" y2="${axisY}" stroke="#333"/>`,
    `<line x1="${x(1).toFixed(1)}" x2="${x(1).toFixed(1)}" y1="${TOP - 4}" y2="${axisY}" stroke="#333" stroke-dasharray="4 3"/>`,
  );
  for (let tick = 0; tick <= max; tick += max > 8 ? 2 : max > 3 ? 1 : 0.5) {
    parts.push(
      `<text x="${x(tick).toFixed(1)}" y="${axisY + 16}" text-anchor="middle" fill="#444">${tick}×</text>`,
    );
  }
  parts.push(`</svg>`);
  return parts.join("\n") + "\n";
}
