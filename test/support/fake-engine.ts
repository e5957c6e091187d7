import { createServer } from "node:http";
import { join } from "node:path";
import { tempDir, type Teardown } from "./temp-dir.js";

/** A request the fake engine received. */
export interface ReceivedRequest {
  method: string;
  url: string;
  body: string;
}

/**
 * An answer: JSON `body` (or `raw` text) with `status`; "no-answer" leaves the request waiting; "hang-up"
 * closes the connection without answering.
 */
export type FakeAnswer =
  | { status: number; body?: unknown; raw?: string; headers?: Record<string, string> }
  | "no-answer"
  | "hang-up";

/**
 * An HTTP server on a UNIX socket standing in for a container engine, for tests of how the driver talks
 * (versions, errors, limits, timeouts) and of checks that must happen before any call: it counts connections,
 * records requests, and answers with `handler` (404 when it returns nothing).
 */
export interface FakeEngine {
  socketPath: string;
  connections: number;
  requests: ReceivedRequest[];
}

export async function startFakeEngine(
  t: Teardown,
  handler: (request: ReceivedRequest) => FakeAnswer | undefined = () => undefined,
): Promise<FakeEngine> {
  const socketPath = join(tempDir(t, "ltictr-fake-engine-"), "engine.sock");
  const engine: FakeEngine = { socketPath, connections: 0, requests: [] };
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      const received = { method: req.method ?? "", url: req.url ?? "", body };
      engine.requests.push(received);
      const answer = handler(received) ?? { status: 404, body: { message: "not found" } };
      if (answer === "no-answer") return;
      if (answer === "hang-up") {
        req.socket.destroy();
        return;
      }
      res.writeHead(answer.status, { "content-type": "application/json", ...answer.headers });
      res.end(answer.raw ?? (answer.body === undefined ? "" : JSON.stringify(answer.body)));
    });
  });
  server.on("connection", () => engine.connections++);
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return engine;
}
