/** The stable codes of the container engine driver's errors (for logs, metrics and the spawner's answers). */
export type EngineErrorCode =
  | "ENGINE_UNREACHABLE"
  | "ENGINE_TIMEOUT"
  | "ENGINE_ERROR"
  | "IMAGE_NOT_FOUND"
  | "NAME_CONFLICT"
  | "CONTAINER_NOT_FOUND"
  | "VOLUME_NOT_FOUND"
  | "VOLUME_IN_USE"
  | "INVALID_NAME";

/**
 * How the spawner endpoint and the admin page answer each engine failure: the engine cannot be reached (503) or
 * did not answer in time (504), it refused or failed (502, an image it does not have included: the operator's to
 * fix, not the caller's); the container or volume asked about does not exist (404), a name is taken or a volume
 * still mounted (409), a name is invalid (400).
 */
export const ENGINE_ERROR_STATUS: Readonly<Record<EngineErrorCode, number>> = {
  ENGINE_UNREACHABLE: 503,
  ENGINE_TIMEOUT: 504,
  ENGINE_ERROR: 502,
  IMAGE_NOT_FOUND: 502,
  NAME_CONFLICT: 409,
  CONTAINER_NOT_FOUND: 404,
  VOLUME_NOT_FOUND: 404,
  VOLUME_IN_USE: 409,
  INVALID_NAME: 400,
};

/** A failed container engine call, or a name refused before any call. Messages are written for an operator. */
export class EngineError extends Error {
  override readonly name: string = "EngineError";
  readonly code: EngineErrorCode;
  /** The engine's HTTP status, when it answered. */
  readonly status: number | undefined;

  constructor(code: EngineErrorCode, message: string, status?: number, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.status = status;
  }
}

/** The engine's socket is missing, refuses connections, or the connection broke. */
export class EngineUnreachableError extends EngineError {
  override readonly name = "EngineUnreachableError";
  constructor(socketPath: string, reason: string, options?: ErrorOptions) {
    super(
      "ENGINE_UNREACHABLE",
      `cannot reach the container engine at ${socketPath}: ${reason} (is Docker running, or \`podman system service\`?)`,
      undefined,
      options,
    );
  }
}

export class EngineTimeoutError extends EngineError {
  override readonly name = "EngineTimeoutError";
  constructor(socketPath: string, call: string, timeoutMs: number, options?: ErrorOptions) {
    super(
      "ENGINE_TIMEOUT",
      `the container engine at ${socketPath} did not answer ${call} within ${timeoutMs} ms`,
      undefined,
      options,
    );
  }
}

export class ImageNotFoundError extends EngineError {
  override readonly name = "ImageNotFoundError";
  constructor(image: string, status?: number) {
    super(
      "IMAGE_NOT_FOUND",
      `image ${JSON.stringify(image)} is not on the container engine (images are never pulled: pull or build it on the engine's host first)`,
      status,
    );
  }
}

export class NameConflictError extends EngineError {
  override readonly name = "NameConflictError";
  constructor(what: "container" | "volume", name: string, status?: number) {
    super(
      "NAME_CONFLICT",
      `a ${what} named ${JSON.stringify(name)} already exists on the container engine`,
      status,
    );
  }
}

export class ContainerNotFoundError extends EngineError {
  override readonly name = "ContainerNotFoundError";
  constructor(container: string, status?: number) {
    super("CONTAINER_NOT_FOUND", `no container ${JSON.stringify(container)} on the container engine`, status);
  }
}

export class VolumeNotFoundError extends EngineError {
  override readonly name = "VolumeNotFoundError";
  constructor(volume: string, status?: number) {
    super("VOLUME_NOT_FOUND", `no volume ${JSON.stringify(volume)} on the container engine`, status);
  }
}

export class VolumeInUseError extends EngineError {
  override readonly name = "VolumeInUseError";
  constructor(volume: string, status?: number) {
    super(
      "VOLUME_IN_USE",
      `volume ${JSON.stringify(volume)} is used by a container; remove that container first`,
      status,
    );
  }
}

/** A container or volume name refused before any engine call. */
export class InvalidNameError extends EngineError {
  override readonly name = "InvalidNameError";
  constructor(message: string) {
    super("INVALID_NAME", message);
  }
}
