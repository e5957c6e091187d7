/**
 * The cookies of a `Cookie` request header, by name, in the order sent (a name may come more than once, from
 * cookies of different paths). Values are left as sent (no percent-decoding) but for surrounding double quotes; a
 * part without `=` is skipped.
 */
export function parseCookies(header: string): Map<string, string[]> {
  const cookies = new Map<string, string[]>();
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    const values = cookies.get(name);
    if (values) values.push(value);
    else cookies.set(name, [value]);
  }
  return cookies;
}
