import { hash, timingSafeEqual } from "node:crypto";

/**
 * A secret's SHA-256 digest. Secrets are compared (and sessions looked up) by digest: two digests have the same
 * length whatever was offered, so the comparison takes the same time for every wrong guess.
 */
export function secretDigest(value: string): Buffer {
  return hash("sha256", value, "buffer");
}

/** Whether `offered` is the secret whose digest is `expected`, in constant time. */
export function matchesSecret(offered: string, expected: Buffer): boolean {
  return timingSafeEqual(secretDigest(offered), expected);
}
