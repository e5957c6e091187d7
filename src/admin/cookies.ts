import { parseCookies } from "../cookie-header.js";

/** The admin page's session cookie: only sent to `/admin`, never readable by scripts, never sent cross-site. */
export const SESSION_COOKIE = "ltictr_admin";
const COOKIE_PATH = "/admin";

/** The value of cookie `name` in a `Cookie` header (the first, if sent more than once). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  return header ? parseCookies(header).get(name)?.[0] : undefined;
}

/** `Set-Cookie` for a new session; `Secure` when the admin listener speaks TLS. */
export function sessionCookie(id: string, maxAgeMs: number, secure: boolean): string {
  return (
    `${SESSION_COOKIE}=${id}; Path=${COOKIE_PATH}; Max-Age=${Math.floor(maxAgeMs / 1000)}; HttpOnly; ` +
    `SameSite=Strict${secure ? "; Secure" : ""}`
  );
}

/** `Set-Cookie` that makes the browser forget the session cookie. */
export function clearedSessionCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; Path=${COOKIE_PATH}; Max-Age=0; HttpOnly; SameSite=Strict${secure ? "; Secure" : ""}`;
}
