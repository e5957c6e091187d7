import { BodyTooLarge } from "../../api/json-body.js";
import { ENGINE_ERROR_STATUS, EngineError } from "../engine/engine-errors.js";
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
    return { status: ENGINE_ERROR_STATUS[error.code], body: { error: error.code, message: error.message } };
  }
  return undefined;
}
