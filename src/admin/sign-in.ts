import type { IncomingMessage, ServerResponse } from "node:http";
import type { TokenCheck } from "../api/token-check.js";
import type { Logger } from "../log/logger.js";
import { AdminError } from "./admin-error.js";
import { clearedSessionCookie, cookieValue, SESSION_COOKIE, sessionCookie } from "./cookies.js";
import { sendEmpty, sendJson } from "./admin-response.js";
import { isFormBody, readAdminBody } from "./request-body.js";
import { fromSameOrigin } from "./same-origin.js";
import type { AdminSession, SessionStore } from "./session-store.js";
import type { SseHub } from "./sse-hub.js";

/** Who makes a request: a signed-in page (cookie), or a script with the token in `Authorization`. */
export type Caller = { kind: "session"; session: AdminSession } | { kind: "token" };

export interface SignInOptions {
  tokens: TokenCheck;
  sessions: SessionStore;
  hub: SseHub;
  lifetimeMs: number;
  log: Logger;
}

/** What the page learns about its sign-in: the CSRF token for its POSTs and when the session ends. */
export interface SessionInfo {
  /** `none`: not signed in (the page shows its sign-in form). */
  kind: Caller["kind"] | "none";
  csrfToken?: string;
  expiresAt?: number;
}

/**
 * Sign-in with the REST API token: a form (or JSON) POST trades the token for a session cookie, so the token
 * is not kept by the page; scripts send `Authorization: token …` with every request instead.
 */
export class SignIn {
  constructor(private readonly options: SignInOptions) {}

  /** The caller, undefined when the request carries neither a live session nor the right token. */
  authenticate(req: IncomingMessage): Caller | undefined {
    const authorization = req.headers.authorization;
    if (authorization !== undefined)
      return this.options.tokens.allows(authorization) ? { kind: "token" } : undefined;
    const session = this.options.sessions.get(cookieValue(req.headers.cookie, SESSION_COOKIE));
    return session ? { kind: "session", session } : undefined;
  }

  async login(req: IncomingMessage, res: ServerResponse, secure: boolean): Promise<void> {
    if (!fromSameOrigin(req, secure))
      throw new AdminError(403, "cross_origin", "sign in from the admin page");
    const body = await readAdminBody(req);
    const token = typeof body.token === "string" ? body.token.trim() : "";
    if (token === "" || /\s/.test(token) || !this.options.tokens.allows(`token ${token}`)) {
      this.options.log.warn("admin page: sign-in with a wrong token from %s", req.socket.remoteAddress);
      throw new AdminError(401, "wrong_token", "wrong token");
    }
    const { id, session, ended } = this.options.sessions.create();
    if (ended) this.options.hub.closeOwner(ended.key);
    this.options.log.info("admin page: signed in from %s", req.socket.remoteAddress);
    const cookie = sessionCookie(id, this.options.lifetimeMs, secure);
    if (isFormBody(req)) {
      sendEmpty(res, 303, { location: "/admin/", "set-cookie": cookie });
      return;
    }
    const info: SessionInfo = { kind: "session", csrfToken: session.csrfToken, expiresAt: session.expiresAt };
    sendJson(res, 200, info, { "set-cookie": cookie });
  }

  /** Ends the caller's session and its live streams; the browser is told to drop the cookie. */
  logout(caller: Caller, res: ServerResponse, secure: boolean): void {
    if (caller.kind === "session") {
      this.options.sessions.delete(caller.session);
      this.options.hub.closeOwner(caller.session.key);
      this.options.log.info("admin page: signed out");
    }
    sendEmpty(res, 204, { "set-cookie": clearedSessionCookie(secure) });
  }

  describe(caller: Caller | undefined): SessionInfo {
    if (!caller) return { kind: "none" };
    return caller.kind === "session"
      ? { kind: "session", csrfToken: caller.session.csrfToken, expiresAt: caller.session.expiresAt }
      : { kind: "token" };
  }
}
