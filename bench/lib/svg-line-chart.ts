import { escapeXml } from "./escape-xml.js";

/**
 * A dependency-free line chart over a sequence of builds (commits): one panel per measure, the builds on the
 * x axis in the order given, one line per series, and an optional goal drawn as a red horizontal line.
 */
export interface LineSeries {
  name: string;
  color: string;
  dashed?: boolean;
  /** One value per x label; undefined where the build gave none. */
  values: Array<number | undefined>;
}

export interface LinePanel {
  title: string;
  unit: string;
  series: LineSeries[];
  goal?: { value: number; text: string };
}

const LEFT = 70;
const PLOT_WIDTH = 640;
const PANEL_HEIGHT = 220;
const PANEL_GAP = 70;
const TOP = 40;
const LEGEND_WIDTH = 190;

/** Round numbers for the y axis: 4–6 ticks covering [low, high]. */
function ticks(low: number, high: number): number[] {
  const span = high - low || 1;
  const raw = span / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(low / step) * step; v <= high + step / 1e6; v += step)
    out.push(Number(v.toFixed(6)));
  return out;
}

function renderPanel(panel: LinePanel, labels: readonly string[], top: number): string[] {
  const values = panel.series.flatMap((s) => s.values.filter((v): v is number => v !== undefined));
  if (panel.goal) values.push(panel.goal.value);
  const low = Math.min(...values) * 0.9;
  const high = Math.max(...values) * 1.08;
  const y = (v: number) => top + PANEL_HEIGHT - ((v - low) / (high - low)) * PANEL_HEIGHT;
  const x = (i: number) =>
    LEFT + (labels.length === 1 ? PLOT_WIDTH / 2 : (i / (labels.length - 1)) * PLOT_WIDTH);
  const parts = [
    `<text x="${LEFT}" y="${top - 12}" font-size="13" font-weight="bold">${escapeXml(panel.title)}</text>`,
    `<rect x="${LEFT}" y="${top}" width="${PLOT_WIDTH}" height="${PANEL_HEIGHT}" fill="none" stroke="#ccc"/>`,
  ];
  for (const tick of ticks(low, high)) {
    parts.push(
      `<line x1="${LEFT}" x2="${LEFT + PLOT_WIDTH}" y1="${y(tick).toFixed(1)}" y2="${y(tick).toFixed(1)}" stroke="#eee"/>`,
      `<text x="${LEFT - 6}" y="${(y(tick) + 4).toFixed(1)}" text-anchor="end" fill="#444">${tick}</text>`,
    );
  }
  parts.push(
    `<text x="14" y="${top + PANEL_HEIGHT / 2}" transform="rotate(-90 14 ${top + PANEL_HEIGHT / 2})" text-anchor="middle" fill="#444">${escapeXml(panel.unit)}</text>`,
  );
  if (panel.goal) {
    const gy = y(panel.goal.value).toFixed(1);
    parts.push(
      `<line x1="${LEFT}" x2="${LEFT + PLOT_WIDTH}" y1="${gy}" y2="${gy}" stroke="#d62728" stroke-width="1.5"/>`,
      `<text x="${LEFT + 4}" y="${Number(gy) - 4}" fill="#d62728">${escapeXml(panel.goal.text)}</text>`,
    );
  }
  labels.forEach((label, i) => {
    parts.push(
      `<text x="${x(i).toFixed(1)}" y="${top + PANEL_HEIGHT + 16}" text-anchor="middle" font-family="monospace" fill="#444">${escapeXml(label)}</text>`,
    );
  });
  panel.series.forEach((series, n) => {
    // A build without a value breaks the line instead of joining its neighbours.
    const runs: string[][] = [[]];
    series.values.forEach((v, i) => {
      if (v === undefined) runs.push([]);
      else runs[runs.length - 1].push(`${x(i).toFixed(1)},${y(v).toFixed(1)}`);
    });
    const dash = series.dashed ? ` stroke-dasharray="5 4"` : "";
    parts.push(
      ...runs
        .filter((run) => run.length > 1)
        .map(
          (run) =>
            `<polyline points="${run.join(" ")}" fill="none" stroke="${series.color}" stroke-width="2"${dash}/>`,
        ),
      ...runs.flat().map((p) => {
        const [cx, cy] = p.split(",");
        return `<circle cx="${cx}" cy="${cy}" r="3" fill="${series.color}"/>`;
      }),
      `<line x1="${LEFT + PLOT_WIDTH + 14}" x2="${LEFT + PLOT_WIDTH + 34}" y1="${top + 10 + n * 18}" y2="${top + 10 + n * 18}" stroke="${series.color}" stroke-width="2"${dash}/>`,
      `<text x="${LEFT + PLOT_WIDTH + 40}" y="${top + 14 + n * 18}">${escapeXml(series.name)}</text>`,
    );
  });
  return parts;
}

export function renderLineChart(
  title: string,
  labels: readonly string[],
  panels: readonly LinePanel[],
): string {
  const width = LEFT + PLOT_WIDTH + LEGEND_WIDTH;
  const height = TOP + panels.length * (PANEL_HEIGHT + PANEL_GAP) + 10;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  panels.forEach((panel, i) =>
    parts.push(...renderPanel(panel, labels, TOP + 30 + i * (PANEL_HEIGHT + PANEL_GAP))),
  );
  parts.push(`</svg>`);
  return parts.join("\n") + "\n";
}
