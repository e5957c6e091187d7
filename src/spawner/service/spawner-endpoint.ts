import type { IncomingMessage, ServerResponse } from "node:http";
import { readBody } from "../../api/json-body.js";
import type { TokenCheck } from "../../api/token-check.js";
import type { Logger } from "../../log/logger.js";
import type { SpawnerOperations } from "./container-spawner.js";
import { errorAnswer, type ErrorBody } from "./error-answer.js";
import { parseContainerRequest, parseStartRequest, parseStopRequest } from "./spawn-request.js";

/** The spawner's paths on the REST API listener, beside CHP's `/api/routes`. */
const SPAWNER_API_PATH = "/api/spawner";

/**
 * Start requests carry JupyterHub's environment (a few KiB) and the launch parameters (a few KiB more);
 * nothing legitimate comes near this.
 */
const SPAWNER_BODY_LIMIT = 256 * 1024;

type Operation = "start" | "poll" | "stop";
const OPERATION_PATH = /^\/api\/spawner\/(start|poll|stop)$/u;

export interface SpawnerEndpointOptions {
  operations: SpawnerOperations;
  tokens: TokenCheck;
  log: Logger;
}

/**
 * The spawner endpoint JupyterHub's `LtictrSpawner` calls on the REST API port, with the same token as
 * `/api/routes`: `POST /api/spawner/start`, `/poll` and `/stop`, JSON in and out. Every answer is JSON; a
 * refusal is `{"error": <code>, "message": <one line>, "field"?: <the key or launch parameter at fault>}`.
 * The token is checked before the body is read; bodies are bounded; neither bodies nor JupyterHub's
 * environment (which holds the server's API token) are logged.
 */
export class SpawnerEndpoint {
  constructor(private readonly options: SpawnerEndpointOptions) {}

  handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? "").split("?")[0] ?? "";
    const context = { user: "" };
    this.answer(req, path, context).then(
      ({ status, body, note }) => this.send(req, res, path, status, body, `${context.user} ${note}`),
      (error: unknown) => {
        const answer = errorAnswer(error);
        if (answer) {
          this.send(req, res, path, answer.status, answer.body, `${context.user} ${answer.body.message}`);
          return;
        }
        this.options.log.error({ err: error }, "Spawner endpoint %s failed", path);
        const body = {
          error: "INTERNAL_ERROR",
          message: "internal error in the spawner endpoint (see the proxy's log)",
        };
        this.send(req, res, path, 500, body, `${context.user} ${(error as Error).message}`);
      },
    );
  };

  private async answer(
    req: IncomingMessage,
    path: string,
    context: { user: string },
  ): Promise<{ status: number; body: object; note: string }> {
    const operation = OPERATION_PATH.exec(path)?.[1] as Operation | undefined;
    if (!operation) {
      req.resume();
      return refusal(
        404,
        "NOT_FOUND",
        `no spawner operation ${path}: POST ${SPAWNER_API_PATH}/start, /poll or /stop`,
      );
    }
    if (req.method !== "POST") {
      req.resume();
      return refusal(405, "METHOD_NOT_ALLOWED", `${path} takes POST`);
    }
    if (!this.options.tokens.allows(req.headers.authorization)) {
      req.resume();
      return refusal(403, "FORBIDDEN", "missing or wrong API token");
    }
    const type = req.headers["content-type"] ?? "";
    if (!/^application\/json\s*(;|$)/iu.test(type)) {
      req.resume();
      return refusal(415, "UNSUPPORTED_MEDIA_TYPE", "the body must be application/json");
    }
    const body = await readBody(req, SPAWNER_BODY_LIMIT);
    const { operations } = this.options;
    switch (operation) {
      case "start": {
        const request = parseStartRequest(body);
        context.user = request.user;
        const started = await operations.start(request);
        return { status: 201, body: started, note: `container ${started.name} on port ${started.port}` };
      }
      case "poll": {
        const request = parseContainerRequest(body);
        context.user = request.user;
        const state = await operations.poll(request);
        return { status: 200, body: state, note: state.running ? "running" : "not running" };
      }
      case "stop": {
        const request = parseStopRequest(body);
        context.user = request.user;
        const result = await operations.stop(request);
        return { status: 200, body: result, note: result.removed ? "removed" : "already gone" };
      }
    }
  }

  private send(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    status: number,
    body: object,
    note: string,
  ): void {
    const line = `${status} ${req.method} ${path} ${note.trim()}`;
    if (status < 400) this.options.log.info(line);
    else if (status < 500) this.options.log.warn(line);
    else this.options.log.error(line);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  }
}

function refusal(
  status: number,
  error: string,
  message: string,
): { status: number; body: ErrorBody; note: string } {
  return { status, body: { error, message }, note: message };
}
