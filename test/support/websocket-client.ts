import { WebSocket, type ClientOptions } from "ws";
import type { Teardown } from "./temp-dir.js";

export interface WebSocketClient {
  ws: WebSocket;
  /** The next message from the server (text), waiting up to `timeoutMs`. */
  next(timeoutMs?: number): Promise<string>;
  /** Closes cleanly and resolves once the close handshake is done. */
  close(): Promise<void>;
}

/** Opens a WebSocket (`ws://` or `ws+unix://`), resolves once it is open, and is terminated in teardown. */
export async function openWebSocket(
  t: Teardown,
  url: string,
  options: ClientOptions = {},
): Promise<WebSocketClient> {
  const ws = new WebSocket(url, options);
  t.teardown(() => {
    ws.on("error", () => undefined);
    ws.terminate();
  });
  const queue: string[] = [];
  const waiting: Array<(message: string) => void> = [];
  ws.on("message", (data: Buffer) => {
    const message = data.toString("utf8");
    const waiter = waiting.shift();
    if (waiter) waiter(message);
    else queue.push(message);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  return {
    ws,
    next: (timeoutMs = 5000) =>
      new Promise((resolve, reject) => {
        const queued = queue.shift();
        if (queued !== undefined) return resolve(queued);
        const timer = setTimeout(
          () => reject(new Error(`no WebSocket message within ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiting.push((message) => {
          clearTimeout(timer);
          resolve(message);
        });
      }),
    close: () =>
      new Promise((resolve) => {
        if (ws.readyState === WebSocket.CLOSED) return resolve();
        ws.once("close", () => resolve());
        ws.close();
      }),
  };
}
