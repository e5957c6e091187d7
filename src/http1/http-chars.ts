/**
 * Byte classes of HTTP/1 syntax (a token: letters, digits and ``!#$%&'*+-.^_`|~``; field values: visible ASCII,
 * blanks and bytes ≥ 0x80), as lookup tables indexed by byte: 1 where the byte belongs.
 */

function table(belongs: (byte: number) => boolean): Uint8Array {
  const bytes = new Uint8Array(256);
  for (let byte = 0; byte < 256; byte++) bytes[byte] = belongs(byte) ? 1 : 0;
  return bytes;
}

const isAlphanumeric = (byte: number) =>
  (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a);

/** tchar: what header names and chunk-extension names and values are made of. */
export const TOKEN = table(
  (byte) => isAlphanumeric(byte) || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(byte)),
);

/** Header value bytes: HTAB, SP, visible characters and obs-text (0x80–0xFF); no other control, no DEL. */
export const HEADER_VALUE = table((byte) => byte === 0x09 || (byte >= 0x20 && byte !== 0x7f));

/**
 * A character that cannot be in a header value (a control other than HTAB, CR and LF included, or DEL), for whole
 * strings decoded as latin1: one native scan instead of a loop over HEADER_VALUE.
 */
export const NOT_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** qdtext: what a quoted string holds unescaped (header value bytes but `"` and `\`). */
export const QUOTED_TEXT = table((byte) => HEADER_VALUE[byte] === 1 && byte !== 0x22 && byte !== 0x5c);
