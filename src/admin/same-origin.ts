import type { IncomingMessage } from "node:http";

/**
 * Whether a state-changing request comes from the admin page itself. Browsers name the page that sent a request in
 * `Origin` (and `Sec-Fetch-Site`): both must say "this very origin". A client that sends neither (curl, a script)
 * passes this check and still needs the CSRF token or the API token.
 */
export function fromSameOrigin(req: IncomingMessage, secure: boolean): boolean {
  const site = req.headers["sec-fetch-site"];
  if (typeof site === "string" && site !== "same-origin" && site !== "none") return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  const host = req.headers.host;
  return host !== undefined && origin === `${secure ? "https" : "http"}://${host}`;
}
