import { NB_LOG_FIELDS, type NbLog } from "../capture/nb-log-record.js";

/**
 * The form body of `mod_lticontainer_write_nblogs`, byte for byte as the C proxy
 * builds it: keys literal, values form-encoded with `[0-9A-Za-z._-]` kept, space as `+`, every other UTF-8
 * byte as upper-case `%XX`. (URLSearchParams differs: it keeps `*`, so it cannot be used.)
 */

const HEX = "0123456789ABCDEF";

function isLiteral(byte: number): boolean {
  return (
    (byte >= 0x30 && byte <= 0x39) ||
    (byte >= 0x41 && byte <= 0x5a) ||
    (byte >= 0x61 && byte <= 0x7a) ||
    byte === 0x2e ||
    byte === 0x5f ||
    byte === 0x2d
  );
}

export function encodeFormValue(value: string): string {
  let out = "";
  for (const byte of Buffer.from(value, "utf8")) {
    if (isLiteral(byte)) out += String.fromCharCode(byte);
    else if (byte === 0x20) out += "+";
    else out += "%" + HEX[byte >> 4] + HEX[byte & 0x0f];
  }
  return out;
}

/** `nb_logs[0][host]=…&…&nb_logs[N-1][date]=…`: all ten keys of every record, in NB_LOG_FIELDS order. */
export function encodeNbLogs(logs: readonly NbLog[]): string {
  const parts: string[] = [];
  logs.forEach((log, index) => {
    for (const field of NB_LOG_FIELDS) {
      const value: unknown = log[field];
      parts.push(`nb_logs[${index}][${field}]=${encodeFormValue(typeof value === "string" ? value : "")}`);
    }
  });
  return parts.join("&");
}

/** The single-record body the released plugin understands (it reads only `nb_logs[0]`). */
export function encodeNbLog(log: NbLog): string {
  return encodeNbLogs([log]);
}
