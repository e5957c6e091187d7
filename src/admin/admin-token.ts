import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TokenCheck } from "../api/token-check.js";

/** Holds the admin page's sign-in token when the REST API has none. */
export const ADMIN_TOKEN_FILE = "admin-token";

export interface AdminToken {
  check: TokenCheck;
  /** The file the token was read from or written to; absent when it is the REST API token. */
  file?: string;
}

/**
 * The token that signs in to the admin page: the REST API token (CONFIGPROXY_AUTH_TOKEN). A proxy without one
 * runs its REST API open, but the admin page is never open: it then uses a random token kept in
 * `<dataDir>/admin-token` (mode 0600, made on first start and kept), for the operator to read.
 */
export function adminToken(apiToken: string | undefined, dataDir: string): AdminToken {
  if (apiToken) return { check: new TokenCheck(apiToken) };
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  let token = "";
  try {
    token = readFileSync(file, "utf8").trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  if (!/^\S{16,}$/.test(token)) {
    token = randomBytes(32).toString("hex");
    writeFileSync(file, `${token}\n`, { mode: 0o600 });
  }
  return { check: new TokenCheck(token), file };
}
