/**
 * A strict reader of the Prometheus text exposition format 0.0.4, for checking what `/metrics` serves: every line
 * must be a `# HELP`, a `# TYPE`, another comment, empty, or a sample `name{label="value",...} value [timestamp]`;
 * TYPE comes at most once per family and before its samples; sample names belong to their family's type; a series
 * (name + labels) appears once. Anything else throws with the line number.
 */

export type MetricType = "counter" | "gauge" | "summary" | "histogram" | "untyped";

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  type: MetricType;
  help?: string;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set<string>(["counter", "gauge", "summary", "histogram", "untyped"]);
const SUFFIXES: Record<MetricType, string[]> = {
  counter: [""],
  gauge: [""],
  untyped: [""],
  summary: ["", "_sum", "_count"],
  histogram: ["_bucket", "_sum", "_count"],
};

/** Go's ParseFloat, which Prometheus uses: special values in any case (prom-client writes `Nan`). */
function parseValue(text: string, where: string): number {
  if (/^nan$/i.test(text)) return NaN;
  if (/^\+?inf(inity)?$/i.test(text)) return Infinity;
  if (/^-inf(inity)?$/i.test(text)) return -Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) throw new Error(`${where}: bad value ${text}`);
  return Number(text);
}

/** `{a="x",b="y\"z"}` → labels; returns the index after `}`. */
function parseLabels(line: string, start: number, where: string): [Record<string, string>, number] {
  const labels: Record<string, string> = {};
  let i = start + 1;
  while (line[i] !== "}") {
    const eq = line.indexOf("=", i);
    if (eq < 0) throw new Error(`${where}: label without =`);
    const name = line.slice(i, eq);
    if (!LABEL_NAME.test(name)) throw new Error(`${where}: bad label name ${JSON.stringify(name)}`);
    if (Object.hasOwn(labels, name)) throw new Error(`${where}: label ${name} repeated`);
    if (line[eq + 1] !== '"') throw new Error(`${where}: label value not quoted`);
    let value = "";
    let j = eq + 2;
    for (;;) {
      const c = line[j];
      if (c === undefined) throw new Error(`${where}: unterminated label value`);
      if (c === '"') break;
      if (c === "\\") {
        const escaped = line[j + 1];
        if (escaped === "n") value += "\n";
        else if (escaped === "\\" || escaped === '"') value += escaped;
        else throw new Error(`${where}: bad escape \\${escaped ?? ""}`);
        j += 2;
      } else {
        value += c;
        j += 1;
      }
    }
    labels[name] = value;
    i = j + 1;
    if (line[i] === ",") i += 1;
    else if (line[i] !== "}") throw new Error(`${where}: expected , or } after label ${name}`);
  }
  return [labels, i + 1];
}

function familyOf(sampleName: string, families: Map<string, MetricFamily>): MetricFamily | undefined {
  for (const suffix of ["", "_sum", "_count", "_bucket"]) {
    if (!sampleName.endsWith(suffix)) continue;
    const family = families.get(sampleName.slice(0, sampleName.length - suffix.length));
    if (family && SUFFIXES[family.type].includes(suffix)) return family;
  }
  return undefined;
}

export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  const series = new Set<string>();
  if (text !== "" && !text.endsWith("\n")) throw new Error("the exposition does not end with a line feed");
  const lines = text.split("\n");
  lines.pop();
  lines.forEach((line, index) => {
    const where = `line ${index + 1}`;
    if (line.trim() === "") return;
    const comment = /^#\s*(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
    if (comment) {
      const [, keyword, name = "", rest = ""] = comment;
      if (!METRIC_NAME.test(name)) throw new Error(`${where}: bad metric name ${name}`);
      let family = families.get(name);
      if (keyword === "TYPE") {
        if (!TYPES.has(rest.trim())) throw new Error(`${where}: unknown type ${rest}`);
        if (family?.samples.length) throw new Error(`${where}: TYPE of ${name} after its samples`);
        if (family?.type !== undefined && family.type !== "untyped")
          throw new Error(`${where}: second TYPE for ${name}`);
        if (family) family.type = rest.trim() as MetricType;
        else families.set(name, { name, type: rest.trim() as MetricType, samples: [] });
      } else {
        if (family?.help !== undefined) throw new Error(`${where}: second HELP for ${name}`);
        if (!family) {
          family = { name, type: "untyped", samples: [] };
          families.set(name, family);
        }
        family.help = rest;
      }
      return;
    }
    if (line.startsWith("#")) return;
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
    if (!name) throw new Error(`${where}: not a sample: ${JSON.stringify(line)}`);
    let labels: Record<string, string> = {};
    let rest = name.length;
    if (line[rest] === "{") [labels, rest] = parseLabels(line, rest, where);
    const fields = line.slice(rest).trim().split(/\s+/);
    if (line[rest] !== " " || fields.length < 1 || fields.length > 2)
      throw new Error(`${where}: expected ' value [timestamp]' in ${JSON.stringify(line)}`);
    const value = parseValue(fields[0] ?? "", where);
    if (fields[1] !== undefined && !/^-?\d+$/.test(fields[1])) throw new Error(`${where}: bad timestamp`);
    let family = familyOf(name, families);
    if (!family) {
      if (families.has(name)) throw new Error(`${where}: sample ${name} does not fit its family's type`);
      family = { name, type: "untyped", samples: [] };
      families.set(name, family);
    }
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (series.has(key)) throw new Error(`${where}: series ${key} repeated`);
    series.add(key);
    family.samples.push({ name, labels, value });
  });
  return families;
}

/** The value of one series, or undefined when it is not exposed. */
export function sampleValue(
  families: Map<string, MetricFamily>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const family = familyOf(name, families);
  const wanted = Object.entries(labels);
  return family?.samples.find(
    (sample) =>
      sample.name === name &&
      Object.keys(sample.labels).length === wanted.length &&
      wanted.every(([key, value]) => sample.labels[key] === value),
  )?.value;
}

/** Sum over all series of `name` (any labels); 0 when none is exposed. */
export function sampleSum(families: Map<string, MetricFamily>, name: string): number {
  return (familyOf(name, families)?.samples ?? [])
    .filter((sample) => sample.name === name)
    .reduce((sum, sample) => sum + sample.value, 0);
}
