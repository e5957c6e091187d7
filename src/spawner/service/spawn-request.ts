import type { LaunchParameters } from "../../lti/lti-launch.js";
import { isJsonObject } from "../../json-object.js";

/**
 * A request body the spawner endpoint cannot use: not JSON, a missing or unknown key, a value of the wrong
 * type or size. `field` names the key (`launch.custom_lms_image`, `environment`); a value is never shown (the
 * environment holds JupyterHub's API token).
 */
export class SpawnRequestInvalid extends Error {
  override readonly name = "SpawnRequestInvalid";
  readonly code = "SPAWN_REQUEST_INVALID";

  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

/** What JupyterHub's spawner sends to start a server (`POST /api/spawner/start`). */
export interface StartRequest {
  /** The JupyterHub user name. */
  user: string;
  /** The server name; `""` for the default server. */
  server: string;
  /** The launch parameters as the LTI authenticator keeps them in `auth_state`, in their order. */
  launch: LaunchParameters;
  /** `Spawner.get_env()`. */
  environment: Record<string, string>;
  /** `Spawner.cmd`; absent: the policy's command. */
  command?: string[];
  /** `Spawner.get_args()`. */
  args: string[];
}

/** Names one container of one user's server (`POST /api/spawner/poll`). */
export interface ContainerRequest {
  user: string;
  server: string;
  /** The container's id, as the start answered it. */
  id: string;
}

/** `POST /api/spawner/stop`. */
export interface StopRequest extends ContainerRequest {
  /** Seconds between SIGTERM and SIGKILL. */
  timeoutSeconds: number;
}

/** More parameters than any LTI launch carries (Moodle sends a few dozen). */
const MAX_LAUNCH_PARAMETERS = 1000;
const MAX_NAME_LENGTH = 255;
const MAX_STOP_TIMEOUT_SECONDS = 300;
const DEFAULT_STOP_TIMEOUT_SECONDS = 10;
// eslint-disable-next-line no-control-regex -- the point is to find control characters
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/u;

/** Parses the body of a start request; anything but the documented keys and types is refused. */
export function parseStartRequest(body: Buffer): StartRequest {
  const json = parseObject(body);
  checkKeys(json, ["user", "server", "launch", "environment", "command", "args"]);
  const command = json.command === undefined || json.command === null ? undefined : words(json, "command");
  if (command?.length === 0) throw new SpawnRequestInvalid("command", "must name a command, or be null");
  return {
    user: name(json, "user"),
    server: serverName(json),
    launch: readLaunchObject(json.launch),
    environment: environment(json.environment),
    ...(command ? { command } : {}),
    args: json.args === undefined ? [] : words(json, "args"),
  };
}

/** Parses the body of a poll request. */
export function parseContainerRequest(body: Buffer): ContainerRequest {
  const json = parseObject(body);
  checkKeys(json, ["user", "server", "id"]);
  return containerRequest(json);
}

/** Parses the body of a stop request. */
export function parseStopRequest(body: Buffer): StopRequest {
  const json = parseObject(body);
  checkKeys(json, ["user", "server", "id", "timeoutSeconds"]);
  const timeout = json.timeoutSeconds ?? DEFAULT_STOP_TIMEOUT_SECONDS;
  if (
    !Number.isInteger(timeout) ||
    (timeout as number) < 0 ||
    (timeout as number) > MAX_STOP_TIMEOUT_SECONDS
  ) {
    throw new SpawnRequestInvalid(
      "timeoutSeconds",
      `must be a whole number of seconds from 0 to ${MAX_STOP_TIMEOUT_SECONDS}`,
    );
  }
  return { ...containerRequest(json), timeoutSeconds: timeout as number };
}

function containerRequest(json: Record<string, unknown>): ContainerRequest {
  return { user: name(json, "user"), server: serverName(json), id: name(json, "id") };
}

function parseObject(body: Buffer): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch (error) {
    throw new SpawnRequestInvalid("body", `not JSON: ${(error as Error).message}`);
  }
  if (!isJsonObject(json)) throw new SpawnRequestInvalid("body", "must be a JSON object");
  return json;
}

function checkKeys(json: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(json)) {
    if (!known.includes(key)) throw new SpawnRequestInvalid(key.slice(0, 60), "unknown key");
  }
}

/** A non-empty single-line text of at most 255 characters. */
function name(json: Record<string, unknown>, key: string): string {
  const value = json[key];
  if (typeof value !== "string" || value === "")
    throw new SpawnRequestInvalid(key, "must be a non-empty string");
  checkLine(value, key);
  return value;
}

function serverName(json: Record<string, unknown>): string {
  const value = json.server ?? "";
  if (typeof value !== "string") throw new SpawnRequestInvalid("server", "must be a string");
  checkLine(value, "server");
  return value;
}

function checkLine(value: string, field: string): void {
  if (value.length > MAX_NAME_LENGTH || CONTROL_CHARACTERS.test(value)) {
    throw new SpawnRequestInvalid(
      field,
      `must be at most ${MAX_NAME_LENGTH} characters without control characters`,
    );
  }
}

function words(json: Record<string, unknown>, key: string): string[] {
  const value = json[key];
  if (!Array.isArray(value) || !value.every((word) => typeof word === "string" && !word.includes("\0"))) {
    throw new SpawnRequestInvalid(key, "must be a list of strings");
  }
  return value as string[];
}

/**
 * Launch parameters given as a JSON object (`auth_state`'s, or a launch file's): strings (numbers are taken as
 * their text, as a form would have sent them); `oauth_*` fields are left out. JSON objects keep their key order,
 * except that integer-like keys come first; no parameter the plan reads is integer-like.
 */
export function readLaunchObject(value: unknown): LaunchParameters {
  if (value === undefined || value === null) return new Map();
  if (!isJsonObject(value)) throw new SpawnRequestInvalid("launch", "must be a JSON object of parameters");
  const entries = Object.entries(value);
  if (entries.length > MAX_LAUNCH_PARAMETERS) {
    throw new SpawnRequestInvalid("launch", `has more than ${MAX_LAUNCH_PARAMETERS} parameters`);
  }
  const parameters = new Map<string, string>();
  for (const [key, entry] of entries) {
    if (key === "" || key.length > MAX_NAME_LENGTH || CONTROL_CHARACTERS.test(key)) {
      throw new SpawnRequestInvalid(
        "launch",
        "parameter names are 1 to 255 characters without control characters",
      );
    }
    if (key.startsWith("oauth_")) continue;
    if (typeof entry === "string") parameters.set(key, entry);
    else if (typeof entry === "number" && Number.isFinite(entry)) parameters.set(key, String(entry));
    else throw new SpawnRequestInvalid(`launch.${key}`, "must be a string or a number");
  }
  return parameters;
}

function environment(value: unknown): Record<string, string> {
  if (!isJsonObject(value))
    throw new SpawnRequestInvalid("environment", "must be a JSON object of variables");
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== "string") {
      throw new SpawnRequestInvalid(`environment.${key.slice(0, 60)}`, "must be a string");
    }
  }
  return value as Record<string, string>;
}
