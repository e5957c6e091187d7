/** Binary multiples, as `docker run --memory` reads them: `2g`, `2G`, `2GB` and `2GiB` are all 2 × 1024³. */
const BYTE_UNITS: Readonly<Record<string, number>> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

const BYTE_SIZE = /^(?<whole>[0-9][0-9,]*)(?:\.(?<fraction>[0-9]+))?[ \t]*(?<unit>[A-Za-z]*)$/u;

/**
 * A memory size in bytes: a number with optional thousands commas (Moodle's menu sends `2,147,483,648`) and an
 * optional unit (`300MiB`, `2G`, `1.5 GiB`); whole bytes, rounded down. `undefined` when the text is not a
 * size. Sizes beyond 2^53 come back inexact, which only matters to a range check that refuses them anyway.
 */
export function parseByteSize(text: string): number | undefined {
  const match = BYTE_SIZE.exec(text.trim());
  const unit = BYTE_UNITS[match?.groups?.unit?.toLowerCase() ?? ""];
  if (!match?.groups || unit === undefined) return undefined;
  const { whole, fraction } = match.groups;
  const amount = Number(`${whole!.replaceAll(",", "")}.${fraction ?? "0"}`);
  return Math.floor(amount * unit);
}
