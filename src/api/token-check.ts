import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Checks `Authorization: token <T>` (JupyterHub's form; `Bearer` and any case of the scheme are accepted too)
 * in constant time. Comparing SHA-256 digests keeps the comparison length-independent.
 */
export class TokenCheck {
  private readonly expected: Buffer | undefined;

  constructor(token: string | undefined) {
    this.expected = token ? digest(token) : undefined;
  }

  /** True when the API is open (no token configured). */
  get open(): boolean {
    return this.expected === undefined;
  }

  allows(authorization: string | undefined): boolean {
    if (!this.expected) return true;
    const match = /^\s*(?:token|bearer)\s+(\S+)\s*$/i.exec(authorization ?? "");
    const offered = digest(match ? match[1] : "");
    return timingSafeEqual(offered, this.expected) && match !== null;
  }
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}
