import { Pool } from "undici";
import { EngineError, EngineTimeoutError, EngineUnreachableError } from "./engine-errors.js";

export interface EngineClientOptions {
  /** The Engine API's UNIX socket: Docker's `/var/run/docker.sock`, or Podman's `podman system service` socket. */
  socketPath: string;
  /**
   * The API version to speak (`1.41`); by default the engine's own version, at most {@link NEWEST_API_VERSION}.
   */
  apiVersion?: string;
  /** How long a call may wait for the engine's answer; calls that wait on purpose (stop) add their own time. */
  timeoutMs?: number;
  /** The largest answer read; larger ones fail instead of filling memory. */
  maxResponseBytes?: number;
  /** Calls in flight at once (one slow stop does not hold up the others). */
  connections?: number;
}

export interface EngineRequest {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** Without the version prefix: `/containers/create`. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  /** Sent as JSON. */
  body?: unknown;
  /** Added to the client's timeout for this call. */
  extraTimeoutMs?: number;
}

export interface EngineResponse {
  status: number;
  /** The parsed JSON answer; the text when it is not JSON; `undefined` when empty. */
  body: unknown;
}

/**
 * The newest Engine API version whose fields this driver was written against. Docker 29 refuses versions
 * below 1.44 and Podman 4 answers 1.41, so the version is negotiated rather than fixed.
 */
export const NEWEST_API_VERSION = "1.47";
const FALLBACK_API_VERSION = "1.41";

/**
 * A Docker Engine API client over a UNIX socket (Docker, or Podman's compatible service): JSON in and out,
 * version prefix, bounded answers and timeouts. It reports transport failures as engine errors and returns
 * every HTTP answer, whatever its status, for the callers to interpret.
 */
export class EngineClient {
  readonly socketPath: string;
  private readonly pool: Pool;
  private readonly timeoutMs: number;
  private apiVersion: Promise<string> | undefined;

  constructor(options: EngineClientOptions) {
    this.socketPath = options.socketPath;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    if (options.apiVersion !== undefined) this.apiVersion = Promise.resolve(options.apiVersion);
    this.pool = new Pool("http://localhost", {
      socketPath: options.socketPath,
      connections: options.connections ?? 4,
      connectTimeout: this.timeoutMs,
      maxResponseSize: options.maxResponseBytes ?? 16 * 1024 * 1024,
    });
  }

  /** Calls the versioned API. */
  async request(request: EngineRequest): Promise<EngineResponse> {
    const version = await this.negotiatedVersion();
    const { status, body } = await this.send({ ...request, path: `/v${version}${request.path}` });
    return { status, body };
  }

  /**
   * The API version in use. The engine names its own in the `Api-Version` header of `GET /_ping` (asked once;
   * Podman's `GET /version` takes seconds, as it looks up package versions).
   */
  negotiatedVersion(): Promise<string> {
    this.apiVersion ??= this.send({ method: "GET", path: "/_ping" }).then(
      (response) => {
        const offered = response.status === 200 ? response.headers["api-version"] : undefined;
        return typeof offered === "string" && /^\d+\.\d+$/.test(offered)
          ? olderVersion(offered, NEWEST_API_VERSION)
          : FALLBACK_API_VERSION;
      },
      (error: unknown) => {
        this.apiVersion = undefined; // ask again next time (the engine may come up)
        throw error;
      },
    );
    return this.apiVersion;
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private async send(
    request: EngineRequest,
  ): Promise<EngineResponse & { headers: Record<string, string | string[] | undefined> }> {
    const call = `${request.method} ${request.path}`;
    const timeoutMs = this.timeoutMs + (request.extraTimeoutMs ?? 0);
    try {
      const response = await this.pool.request({
        method: request.method,
        path: request.path + queryString(request.query),
        headers: request.body === undefined ? {} : { "content-type": "application/json" },
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const text = await response.body.text();
      return { status: response.statusCode, body: parseBody(text), headers: response.headers };
    } catch (error) {
      throw this.transportError(error, call, timeoutMs);
    }
  }

  private transportError(error: unknown, call: string, timeoutMs: number): EngineError {
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    const options = { cause: error };
    switch (code) {
      case "ENOENT":
        return new EngineUnreachableError(this.socketPath, "no such socket", options);
      case "ECONNREFUSED":
        return new EngineUnreachableError(this.socketPath, "nothing listens on the socket", options);
      case "EACCES":
      case "EPERM":
        return new EngineUnreachableError(this.socketPath, "permission denied on the socket", options);
      case "ENOTSOCK":
        return new EngineUnreachableError(this.socketPath, "not a socket", options);
      case "ECONNRESET":
      case "EPIPE":
      case "UND_ERR_SOCKET":
        return new EngineUnreachableError(this.socketPath, `the connection broke during ${call}`, options);
      case "UND_ERR_CONNECT_TIMEOUT":
      case "UND_ERR_HEADERS_TIMEOUT":
      case "UND_ERR_BODY_TIMEOUT":
        return new EngineTimeoutError(this.socketPath, call, timeoutMs, options);
      case "UND_ERR_RES_EXCEEDED_MAX_SIZE":
        return new EngineError(
          "ENGINE_ERROR",
          `the container engine's answer to ${call} is too large`,
          undefined,
          options,
        );
      default:
        return new EngineError(
          "ENGINE_ERROR",
          `calling the container engine at ${this.socketPath} (${call}) failed: ${(error as Error).message}`,
          undefined,
          options,
        );
    }
  }
}

function queryString(query: EngineRequest["query"]): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value !== undefined) params.set(name, String(value));
  }
  const text = params.toString();
  return text === "" ? "" : `?${text}`;
}

function parseBody(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function olderVersion(a: string, b: string): string {
  const [aMajor = 0, aMinor = 0] = a.split(".").map(Number);
  const [bMajor = 0, bMinor = 0] = b.split(".").map(Number);
  return aMajor < bMajor || (aMajor === bMajor && aMinor <= bMinor) ? a : b;
}
