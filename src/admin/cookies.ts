/** The admin page's session cookie: only sent to `/admin`, never readable by scripts, never sent cross-site. */
export const SESSION_COOKIE = "ltictr_admin";
const COOKIE_PATH = "/admin";

/** The value of cookie `name` in a `Cookie` header, if present. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
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
