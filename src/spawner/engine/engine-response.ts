import { EngineError } from "./engine-errors.js";
import type { EngineResponse } from "./engine-client.js";

/** The engine's error text from an error answer (`{"message": …}`), shortened and on one line. */
export function engineMessage(response: EngineResponse): string {
  const body = response.body;
  const message =
    typeof body === "object" && body !== null && typeof (body as { message?: unknown }).message === "string"
      ? (body as { message: string }).message
      : typeof body === "string"
        ? body
        : "";
  const oneLine = message.replace(/\s+/g, " ").trim();
  return oneLine.length > 300 ? `${oneLine.slice(0, 300)}…` : oneLine;
}

/** An `ENGINE_ERROR` for an answer no more specific error explains: what was refused, status and reason. */
export function engineRefused(what: string, response: EngineResponse): EngineError {
  return new EngineError(
    "ENGINE_ERROR",
    `the container engine refused to ${what}: ${response.status} ${engineMessage(response)}`,
    response.status,
  );
}
