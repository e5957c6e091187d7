import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Anything with tap's `teardown` (a test, or the file's top-level `t`). */
export interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A fresh folder under the system's temp folder, removed when the test ends. */
export function tempDir(t: Teardown, prefix = "ltictr-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
