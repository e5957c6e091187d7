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
   * allocation). Resolves once the process has answered, i.e. after the collection.
   */
  async collectGarbage(): Promise<void> {
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
      await new Promise<void>((resolve, reject) => {
        ws.once("message", () => resolve());
        ws.once("close", () => reject(new Error("inspector closed before answering")));
        ws.send(JSON.stringify({ id: 1, method: "HeapProfiler.collectGarbage" }));
      });
    } finally {
      ws.close();
    }
  }
}
