import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import WebSocket from "ws";
import { freePort } from "./ports.js";
import { startProcess, type RunningProcess } from "./proxy-process.js";
import { KernelChannel } from "./hub-browser.js";

/** A real Jupyter server (Debian's jupyter_server 1.23 on /usr/bin/python3) with token auth, no hub. */
export interface JupyterServer {
  url: string;
  token: string;
  process: RunningProcess;
  stop(): Promise<void>;
}

export async function startJupyterServer(extraArgs: string[] = []): Promise<JupyterServer> {
  const port = await freePort();
  const token = randomUUID().replace(/-/g, "");
  const root = mkdtempSync(join(tmpdir(), "ltictr-jupyter-"));
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: root, JUPYTER_RUNTIME_DIR: join(root, "runtime") };
  delete env.NODE_OPTIONS;
  const server = startProcess(
    "/usr/bin/python3",
    [
      "-m",
      "jupyter_server",
      "--no-browser",
      "--allow-root",
      "--ServerApp.ip=127.0.0.1",
      `--ServerApp.port=${port}`,
      "--ServerApp.port_retries=0",
      `--ServerApp.token=${token}`,
      `--ServerApp.root_dir=${root}`,
      ...extraArgs,
    ],
    { env, cwd: root },
  );
  await server.waitFor(/is running at|Jupyter Server .* is running/, 30000);
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    process: server,
    async stop() {
      await server.stop(10000);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Starts a kernel through `baseUrl` (the proxy) and opens its channels socket as JupyterLab 3 would. */
export async function openKernelThrough(
  baseUrl: string,
  token: string,
  cookie?: string,
): Promise<KernelChannel> {
  const response = await fetch(`${baseUrl}/api/kernels`, {
    method: "POST",
    headers: { authorization: `token ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "python3" }),
  });
  if (response.status !== 201) throw new Error(`POST /api/kernels answered ${response.status}`);
  const kernel = (await response.json()) as { id: string };
  const sessionId = randomUUID();
  const socket = new WebSocket(
    `${baseUrl.replace(/^http/, "ws")}/api/kernels/${kernel.id}/channels?session_id=${sessionId}`,
    { headers: { authorization: `token ${token}`, ...(cookie ? { cookie } : {}) } },
  );
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  return new KernelChannel(socket, sessionId);
}
