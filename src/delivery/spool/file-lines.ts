import { readFileSync, writeSync } from "node:fs";

/** Writes all of `text`, however many writes it takes. */
export function writeAll(fd: number, text: string): void {
  const buffer = Buffer.from(text, "utf8");
  let offset = 0;
  while (offset < buffer.length) offset += writeSync(fd, buffer, offset, buffer.length - offset);
}

/** Lines ending in "\n" and the byte length they cover; what follows the last "\n" is a torn write. */
export function completeLines(path: string): { lines: string[]; bytes: number; torn: number } {
  const data = readFileSync(path);
  const end = data.lastIndexOf(0x0a) + 1;
  const text = data.subarray(0, end).toString("utf8");
  const lines = text === "" ? [] : text.slice(0, -1).split("\n");
  return { lines, bytes: end, torn: data.length - end };
}
