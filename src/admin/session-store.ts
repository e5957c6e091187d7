import { randomBytes } from "node:crypto";
import { SecretMatcher, secretDigest } from "../api/secret-compare.js";

/** One signed-in page. */
export interface AdminSession {
  /** SHA-256 of the cookie value: the map never holds what the browser sends. */
  readonly key: string;
  /** Sent by the page in `X-CSRF-Token` with every POST. */
  readonly csrfToken: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export interface SessionStoreOptions {
  /** How long a sign-in lasts (ms); the cookie carries the same expiry. */
  lifetimeMs: number;
  /** Sessions kept at once; signing in beyond it ends the oldest session. */
  maxSessions: number;
  now?: () => number;
}

/**
 * The admin page's sessions, on the server side: a random 256-bit id goes to the browser in an HttpOnly cookie,
 * the map holds its hash, a CSRF token and an absolute expiry. Bounded: at most `maxSessions`, expired ones are
 * gone on the next look-up or sweep.
 */
export class SessionStore {
  private readonly sessions = new Map<string, AdminSession>();
  private readonly now: () => number;

  constructor(private readonly options: SessionStoreOptions) {
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.sessions.size;
  }

  /** A new session and the cookie value that names it; the oldest session ends when the store is full. */
  create(): { id: string; session: AdminSession; ended?: AdminSession } {
    let ended: AdminSession | undefined;
    if (this.sessions.size >= this.options.maxSessions) {
      // Map order is insertion order: the first entry is the oldest sign-in.
      const oldest = this.sessions.values().next().value as AdminSession;
      this.sessions.delete(oldest.key);
      ended = oldest;
    }
    const id = randomBytes(32).toString("base64url");
    const now = this.now();
    const session: AdminSession = {
      key: keyOf(id),
      csrfToken: randomBytes(32).toString("base64url"),
      createdAt: now,
      expiresAt: now + this.options.lifetimeMs,
    };
    this.sessions.set(session.key, session);
    return { id, session, ...(ended ? { ended } : {}) };
  }

  /** The live session a cookie value names, if any. */
  get(id: string | undefined): AdminSession | undefined {
    if (!id || id.length > 128) return undefined;
    const session = this.sessions.get(keyOf(id));
    if (!session) return undefined;
    if (session.expiresAt <= this.now()) {
      this.sessions.delete(session.key);
      return undefined;
    }
    return session;
  }

  delete(session: AdminSession): void {
    this.sessions.delete(session.key);
  }

  /** Removes the expired sessions and returns them (their live streams are closed by the caller). */
  sweep(): AdminSession[] {
    const now = this.now();
    const expired: AdminSession[] = [];
    for (const session of this.sessions.values()) {
      if (session.expiresAt <= now) expired.push(session);
    }
    for (const session of expired) this.sessions.delete(session.key);
    return expired;
  }
}

/** Whether the header carries the session's CSRF token (in constant time, see secret-compare.ts). */
export function csrfTokenMatches(session: AdminSession, offered: string | string[] | undefined): boolean {
  const value = typeof offered === "string" ? offered : "";
  return new SecretMatcher(session.csrfToken).matches(value) && value !== "";
}

function keyOf(id: string): string {
  return secretDigest(id).toString("hex");
}
