import { readFile, readdir } from "node:fs/promises";
import path from "node:path";

/** Self time per function in a V8 `.cpuprofile` (as written by `node --cpu-prof`), heaviest first. */
export interface HotSpot {
  name: string;
  location: string;
  selfMs: number;
  percent: number;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function isCpuProfile(value: unknown): value is CpuProfile {
  if (value === null || typeof value !== "object") return false;
  const v = value as Record<string, unknown>;
  return Array.isArray(v.nodes) && Array.isArray(v.samples) && Array.isArray(v.timeDeltas);
}

function shortLocation(url: string, line: number): string {
  if (url === "") return "";
  const file = url.replace(/^file:\/\//, "");
  const inModules = file.lastIndexOf("node_modules/");
  const shown = inModules >= 0 ? file.slice(inModules + 13) : file.replace(/^.*\/dist\//, "");
  return `${shown}:${line + 1}`;
}

export function hotSpots(profile: unknown, top = 15): HotSpot[] {
  if (!isCpuProfile(profile)) return [];
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<string, { name: string; location: string; us: number }>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const delta = profile.timeDeltas[i] ?? 0;
    if (!node) return;
    total += delta;
    const name = node.callFrame.functionName || "(anonymous)";
    const location = shortLocation(node.callFrame.url, node.callFrame.lineNumber);
    const key = `${name}@${location}`;
    const entry = selfUs.get(key) ?? { name, location, us: 0 };
    entry.us += delta;
    selfUs.set(key, entry);
  });
  return [...selfUs.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((e) => ({
      name: e.name,
      location: e.location,
      selfMs: e.us / 1000,
      percent: total ? (100 * e.us) / total : 0,
    }));
}

/** Text summary of every profile in `directory` (one per proxy process that ran with `--profile`). */
export async function summarizeProfiles(directory: string, top = 15): Promise<string> {
  let files: string[];
  try {
    files = (await readdir(directory)).filter((f) => f.endsWith(".cpuprofile")).sort();
  } catch {
    return "";
  }
  const parts: string[] = [];
  for (const file of files) {
    const full = path.join(directory, file);
    let spots: HotSpot[];
    try {
      spots = hotSpots(JSON.parse(await readFile(full, "utf8")) as unknown, top);
    } catch {
      continue;
    }
    parts.push(
      `${full}\n` +
        spots.map((s) => `  ${s.percent.toFixed(1).padStart(5)} %  ${s.name}  ${s.location}`).join("\n"),
    );
  }
  return parts.join("\n\n");
}
