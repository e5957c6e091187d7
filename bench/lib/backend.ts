import type { RunningProcess } from "../../test/support/proxy-process.js";
import { startAgent } from "./agent-io.js";

/** The running backend agent (see backend-server.ts) that every target forwards to. */
export interface Backend {
  url: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

export async function startBackend(options: {
  msgsPerRequest: number;
  contentBytes: number;
}): Promise<Backend> {
  const proc: RunningProcess = startAgent("backend-server", {
    "msgs-per-request": options.msgsPerRequest,
    "content-bytes": options.contentBytes,
  });
  await proc.waitFor(/LISTENING \d+/);
  const port = Number(/LISTENING (\d+)/.exec(proc.stdout())?.[1]);
  return {
    url: `http://127.0.0.1:${port}`,
    pid: proc.child.pid,
    stop: async () => {
      await proc.stop(1000);
    },
  };
}
