import { readFile } from "node:fs/promises";
import { sleep } from "./scenario.js";

/** Lines of ltictr-proxy's `--records-file` whose record has `host` = `kind`; 0 while the file does not exist. */
export async function countRecords(file: string, kind: "ltictr" | "client" | "server"): Promise<number> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    return 0;
  }
  const marker = `"host":"${kind}"`;
  return text.split("\n").filter((line) => line.includes(marker)).length;
}

/**
 * Waits until at least `expected` such records exist, or until the count has stopped moving for
 * `quietMs` (records are appended asynchronously); returns the final count.
 */
export async function awaitRecords(
  file: string,
  kind: "ltictr" | "client" | "server",
  expected: number,
  quietMs = 2000,
): Promise<number> {
  let count = await countRecords(file, kind);
  let still = 0;
  while (count < expected && still < quietMs) {
    await sleep(200);
    const now = await countRecords(file, kind);
    still = now === count ? still + 200 : 0;
    count = now;
  }
  return count;
}
