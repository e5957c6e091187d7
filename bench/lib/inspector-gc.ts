import WebSocket from "ws";
import { freePorts } from "./ports.js";

/**
 * Node's inspector on a free loopback port, for a measured process started with `nodeOptions()` in its
 * `NODE_OPTIONS` (CHP and ltictr-proxy alike), so the bench can ask it for a full garbage collection.
 */
export class InspectorPort {
  private constructor(readonly port: number) {}

  static async free(): Promise<InspectorPort> {
    const [port] = await freePorts(1);
    return new InspectorPort(port!);
  }

  nodeOptions(): string {
    return `--inspect=127.0.0.1:${this.port}`;
  }

  /**
   * A full collection that also gives back what V8 keeps for speed (`HeapProfiler.collectGarbage`: V8's
   * low-memory collection, which shrinks the young generation, as V8 does by itself after a while without
   * allocation), in process `pid`. Resolves once the process has answered, i.e. after the collection.
   */
  async collectGarbage(pid: number): Promise<void> {
    const targets = (await (await fetch(`http://127.0.0.1:${this.port}/json/list`)).json()) as {
      webSocketDebuggerUrl: string;
    }[];
    const url = targets[0]?.webSocketDebuggerUrl;
    if (url === undefined) throw new Error(`no inspector target on port ${this.port}`);
    const ws = new WebSocket(url);
    try {
      await new Promise<void>((resolve, reject) => {
        ws.once("open", () => resolve());
        ws.once("error", reject);
      });
      // The port was free when picked, not when the process bound it: another process's inspector would answer
      // (and collect) there, and the reading would silently be the other's.
      const answered = await ask(ws, 1, "Runtime.evaluate", {
        expression: "process.pid",
        returnByValue: true,
      });
      const theirs = (answered as { result?: { value?: unknown } } | undefined)?.result?.value;
      if (theirs !== pid)
        throw new Error(
          `the inspector on port ${this.port} is process ${String(theirs)}'s, not process ${pid}'s`,
        );
      await ask(ws, 2, "HeapProfiler.collectGarbage", {});
    } finally {
      ws.close();
    }
  }
}

/** Sends one inspector command and resolves with its result once the answer with the same id arrives. */
function ask(ws: WebSocket, id: number, method: string, params: object): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const onMessage = (data: WebSocket.RawData) => {
      const message = JSON.parse(data.toString()) as {
        id?: number;
        result?: unknown;
        error?: { message: string };
      };
      if (message.id !== id) return;
      ws.off("message", onMessage);
      ws.off("close", onClose);
      if (message.error) reject(new Error(`${method}: ${message.error.message}`));
      else resolve(message.result);
    };
    const onClose = () => reject(new Error(`inspector closed before answering ${method}`));
    ws.on("message", onMessage);
    ws.once("close", onClose);
    ws.send(JSON.stringify({ id, method, params }));
  });
}
