import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import type { Logger } from "../log/logger.js";

/** Paths of the spawner endpoint; everything else on the API listener is CHP's REST API. */
const SPAWNER_PATH = /^\/api\/spawner(?:\/|$)/u;

export interface ApiHandlers {
  /** CHP's `/api/routes`, and the answers for every other path. */
  routes: RequestListener;
  /** The spawner endpoint, when the proxy has a container engine (`--engine-socket`). */
  spawner?: RequestListener;
  log: Logger;
}

/** Sends `/api/spawner…` to the spawner endpoint and everything else to the routes API. */
export function apiDispatcher({ routes, spawner, log }: ApiHandlers): RequestListener {
  const spawnerOrOff = spawner ?? ((req, res) => spawnerOff(req, res, log));
  return (req, res) => {
    const path = (req.url ?? "").split("?")[0] ?? "";
    if (SPAWNER_PATH.test(path)) spawnerOrOff(req, res);
    else routes(req, res);
  };
}

function spawnerOff(req: IncomingMessage, res: ServerResponse, log: Logger): void {
  req.resume();
  const message =
    "the spawner endpoint is off: start ltictr-proxy with --engine-socket <Docker or Podman socket>";
  log.warn("404 %s %s %s", req.method, (req.url ?? "").split("?")[0], message);
  res.writeHead(404, { "content-type": "application/json" });
  res.end(JSON.stringify({ error: "SPAWNER_DISABLED", message }));
}
