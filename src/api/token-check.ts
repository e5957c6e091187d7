import { SecretMatcher } from "./secret-compare.js";

/**
 * Checks `Authorization: token <T>` (JupyterHub's form; `Bearer` and any case of the scheme are accepted too)
 * in constant time (see secret-compare.ts).
 */
export class TokenCheck {
  private readonly expected: SecretMatcher | undefined;

  constructor(token: string | undefined) {
    this.expected = token ? new SecretMatcher(token) : undefined;
  }

  /** True when the API is open (no token configured). */
  get open(): boolean {
    return this.expected === undefined;
  }

  allows(authorization: string | undefined): boolean {
    if (!this.expected) return true;
    const match = /^\s*(?:token|bearer)\s+(\S+)\s*$/i.exec(authorization ?? "");
    return this.expected.matches(match ? match[1] : "") && match !== null;
  }
}
