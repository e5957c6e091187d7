import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import t from "tap";

// The folders of src/ depend on each other one way only (the data flow and its side inputs): a cycle between two
// folders means a concept sits in the wrong place. Type-only imports count: they couple the folders as much.

const SRC = fileURLToPath(new URL("../../../../src", import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

/** The top folder of a file under src/; a file at the root (app.ts, events.ts) is a node of its own. */
function folderOf(file: string): string {
  const parts = relative(SRC, file).split("/");
  return parts.length > 1 ? parts[0] : parts[0].replace(/\.js$/, ".ts");
}

function folderGraph(): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  for (const file of sourceFiles(SRC)) {
    const from = folderOf(file);
    const text = readFileSync(file, "utf8");
    for (const match of text.matchAll(/(?:import|export)[^;]*?from\s+"(\.{1,2}\/[^"]+)"/g)) {
      const to = folderOf(resolve(dirname(file), match[1]));
      if (to === from) continue;
      const edges = graph.get(from) ?? new Map<string, string>();
      if (!edges.has(to)) edges.set(to, relative(SRC, file));
      graph.set(from, edges);
    }
  }
  return graph;
}

function findCycle(graph: Map<string, Map<string, string>>): string[] | undefined {
  const state = new Map<string, "visiting" | "done">();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === "done") return undefined;
    if (state.get(node) === "visiting") return [...path.slice(path.indexOf(node)), node];
    state.set(node, "visiting");
    path.push(node);
    for (const next of graph.get(node)?.keys() ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(node, "done");
    return undefined;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

t.test("no folder of src/ imports another in a cycle", async (t) => {
  const graph = folderGraph();
  t.ok(graph.size > 10, "the graph was read");
  const cycle = findCycle(graph);
  const evidence = cycle?.slice(1).map((to, i) => `${cycle[i]} → ${to} (${graph.get(cycle[i])?.get(to)})`);
  t.equal(cycle, undefined, "no cycle", { cycle: evidence });
});

t.test("the cycle check finds a cycle when there is one", async (t) => {
  const graph = new Map([
    ["a", new Map([["b", "a/x.ts"]])],
    ["b", new Map([["c", "b/y.ts"]])],
    ["c", new Map([["a", "c/z.ts"]])],
  ]);
  t.same(findCycle(graph), ["a", "b", "c", "a"]);
});
