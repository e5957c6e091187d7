import { BodyTooLarge } from "../../api/json-body.js";
import { EngineError, type EngineErrorCode } from "../engine/engine-errors.js";
import { LaunchRefused } from "../plan/launch-refused.js";
import { HostDirectoryError } from "./host-directories.js";
import { ContainerNotOwned } from "./server-labels.js";
import { SpawnRequestInvalid } from "./spawn-request.js";

/** The JSON body of every refusal: a stable code, one line for JupyterHub's user, the field when one is at fault. */
export interface ErrorBody {
  error: string;
  message: string;
  field?: string;
}

export interface ErrorAnswer {
  status: number;
  body: ErrorBody;
}

/**
 * Engine failures by status: the engine refused or failed (502), cannot be reached (503), did not answer in
 * time (504); a name already taken is a conflict (409) and an invalid container id a bad request (400).
 */
const ENGINE_STATUS: Readonly<Record<EngineErrorCode, number>> = {
  ENGINE_UNREACHABLE: 503,
  ENGINE_TIMEOUT: 504,
  ENGINE_ERROR: 502,
  IMAGE_NOT_FOUND: 502,
  NAME_CONFLICT: 409,
  CONTAINER_NOT_FOUND: 502,
  VOLUME_NOT_FOUND: 502,
  VOLUME_IN_USE: 409,
  INVALID_NAME: 400,
};

/** How an error of a spawner operation is answered; `undefined` for an unexpected one (a 500, logged in full). */
export function errorAnswer(error: unknown): ErrorAnswer | undefined {
  if (error instanceof LaunchRefused || error instanceof SpawnRequestInvalid) {
    return { status: 400, body: { error: error.code, message: error.message, field: error.field } };
  }
  if (error instanceof BodyTooLarge) {
    return { status: 413, body: { error: "SPAWN_REQUEST_TOO_LARGE", message: error.message } };
  }
  if (error instanceof ContainerNotOwned)
    return { status: 409, body: { error: error.code, message: error.message } };
  if (error instanceof HostDirectoryError)
    return { status: 500, body: { error: error.code, message: error.message } };
  if (error instanceof EngineError) {
    return { status: ENGINE_STATUS[error.code], body: { error: error.code, message: error.message } };
  }
  return undefined;
}
