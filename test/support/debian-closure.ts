import { execFile } from "node:child_process";
import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** One installed Debian package, as dpkg knows it. */
export interface InstalledPackage {
  name: string;
  architecture: string;
  version: string;
  /** Virtual package names it provides. */
  provides: string[];
  /** Pre-Depends and Depends clauses; each clause lists alternatives (`a | b`). */
  depends: string[][];
}

const FIELDS =
  "${Package}\\t${Architecture}\\t${db:Status-Abbrev}\\t${Version}\\t${Provides}\\t${Pre-Depends}\\t${Depends}\\n";

/** Every package installed on this machine (one `dpkg-query` run). */
export async function installedPackages(): Promise<Map<string, InstalledPackage>> {
  const { stdout } = await run("dpkg-query", ["-W", `-f=${FIELDS}`], { maxBuffer: 64 << 20 });
  return parseDpkgQuery(stdout);
}

export function parseDpkgQuery(text: string): Map<string, InstalledPackage> {
  const packages = new Map<string, InstalledPackage>();
  for (const line of text.split("\n")) {
    const [name, architecture, status, version, provides, preDepends, depends] = line.split("\t");
    if (!name || !status?.startsWith("ii")) continue;
    packages.set(name, {
      name,
      architecture: architecture ?? "",
      version: version ?? "",
      provides: splitList(provides).map(packageName),
      depends: [...splitList(preDepends), ...splitList(depends)].map((clause) =>
        clause.split("|").map(packageName),
      ),
    });
  }
  return packages;
}

/**
 * The installed packages `roots` need to run: their Depends and Pre-Depends, recursively, taking for each
 * clause the first installed alternative (or a package providing it) that is not excluded. `exclude` cuts
 * off packages a container does not need (a clause whose only installed alternatives are excluded is dropped).
 */
export function dependencyClosure(
  packages: Map<string, InstalledPackage>,
  roots: readonly string[],
  exclude: ReadonlySet<string> = new Set(),
): InstalledPackage[] {
  const providers = new Map<string, string[]>();
  for (const p of packages.values()) {
    for (const virtual of p.provides) providers.set(virtual, [...(providers.get(virtual) ?? []), p.name]);
  }
  const installed = (name: string): string[] =>
    packages.has(name) ? [name] : (providers.get(name) ?? []).filter((n) => packages.has(n));

  const chosen = new Map<string, InstalledPackage>();
  const pending = [...roots];
  for (const root of roots)
    if (!packages.has(root)) throw new Error(`Debian package ${root} is not installed`);
  while (pending.length > 0) {
    const name = pending.pop() as string;
    const pkg = packages.get(name);
    if (!pkg || chosen.has(name) || exclude.has(name)) continue;
    chosen.set(name, pkg);
    for (const clause of pkg.depends) {
      const candidates = clause.flatMap(installed);
      if (candidates.some((c) => chosen.has(c))) continue;
      const pick = candidates.find((c) => !exclude.has(c));
      if (pick) pending.push(pick);
    }
  }
  return [...chosen.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The paths (relative to `/`, without a leading slash) of the packages' files, directories and symbolic
 * links, each parent directory included and listed before its entries, in canonical form: on a merged-/usr
 * system dpkg lists `/bin/sh` while the file lives in `/usr/bin`, and an archive must not hold both. Byte-code
 * caches (`__pycache__`) next to the packages' Python modules come along, as Python would otherwise compile
 * every module at each start.
 */
export function packageFiles(
  packages: readonly InstalledPackage[],
  dpkgInfoDir = "/var/lib/dpkg/info",
): string[] {
  const canonicalDirs = new Map<string, string>();
  const canonical = (path: string): string => {
    const dir = dirname(path);
    let real = canonicalDirs.get(dir);
    if (real === undefined) {
      real = existsSync(dir) ? realpathSync(dir) : dir;
      canonicalDirs.set(dir, real);
    }
    return join(real, basename(path));
  };
  const paths = new Set<string>();
  for (const pkg of packages) {
    const list = [
      join(dpkgInfoDir, `${pkg.name}.list`),
      join(dpkgInfoDir, `${pkg.name}:${pkg.architecture}.list`),
    ].find(existsSync);
    if (!list) throw new Error(`dpkg has no file list for ${pkg.name}`);
    for (const line of readFileSync(list, "utf8").split("\n")) {
      if (line === "" || line === "/.") continue;
      const path = canonical(line);
      if (exists(path)) paths.add(path);
    }
  }
  for (const path of [...paths]) {
    const cache = join(path, "__pycache__");
    if (path.endsWith("__pycache__") || !isDirectory(path) || !isDirectory(cache)) continue;
    paths.add(cache);
    for (const entry of readdirSync(cache)) paths.add(join(cache, entry));
  }
  for (const path of [...paths]) {
    for (let dir = dirname(path); dir !== "/"; dir = dirname(dir)) paths.add(dir);
  }
  return [...paths].sort().map((p) => p.slice(1));
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

function splitList(field: string | undefined): string[] {
  return (field ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** `libc6 (>= 2.34)` → `libc6`; `python3:any` → `python3`. */
function packageName(entry: string): string {
  return entry.trim().split(/\s+/)[0]?.split(":")[0] ?? "";
}
