import type { IncomingMessage } from "node:http";
import { readBody } from "../api/json-body.js";
import { AdminError } from "./admin-error.js";
import { isJsonObject } from "../json-object.js";

/** Admin requests carry a route path, a volume name, a token: a few hundred bytes. */
export const ADMIN_BODY_LIMIT = 16 * 1024;

/** The body's media type, lower-cased, without parameters. */
function mediaType(req: IncomingMessage): string {
  return (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

/** The body is an HTML form's (answered with a redirect rather than JSON). */
export function isFormBody(req: IncomingMessage): boolean {
  return mediaType(req) === "application/x-www-form-urlencoded";
}

/** A POST body as an object: JSON, or a form (the sign-in form works without scripts); empty is `{}`. */
export async function readAdminBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const body = await readBody(req, ADMIN_BODY_LIMIT);
  if (body.length === 0) return {};
  const text = body.toString("utf8");
  if (isFormBody(req)) return Object.fromEntries(new URLSearchParams(text));
  if (mediaType(req) !== "application/json")
    throw new AdminError(415, "unsupported_media_type", "send application/json (or a form)");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AdminError(400, "bad_json", "the body is not valid JSON");
  }
  if (!isJsonObject(value)) throw new AdminError(400, "bad_json", "the body must be a JSON object");
  return value as Record<string, unknown>;
}
