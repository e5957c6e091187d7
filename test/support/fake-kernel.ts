import { createServer, type Server } from "node:http";
import { once } from "node:events";
import { WebSocketServer } from "ws";

/**
 * A stand-in for a Jupyter server's kernel channels socket (legacy JSON protocol), for tests that need many
 * executions quickly: every execute_request on shell gets an execute_reply (status `error` when the code is
 * `raise`, else `ok`) and an iopub idle status. Plain HTTP requests are answered after `?delay=<ms>`. The replies
 * name `username` as the kernel's user (`fake` by default), as a kernel names the account it runs under.
 */
export interface FakeKernelServer {
  url: string;
  close(): Promise<void>;
}

export async function startFakeKernelServer(options: { username?: string } = {}): Promise<FakeKernelServer> {
  const username = options.username ?? "fake";
  const server: Server = createServer((req, res) => {
    const delay = Number(new URL(req.url ?? "/", "http://x").searchParams.get("delay") ?? 0);
    setTimeout(() => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(`done ${req.url}`);
    }, delay);
  });
  const wss = new WebSocketServer({ server });
  wss.on("connection", (socket) => {
    socket.on("message", (data) => {
      let message: { channel?: string; header?: Record<string, unknown>; content?: { code?: string } };
      try {
        message = JSON.parse(data.toString());
      } catch {
        return;
      }
      if (message.channel !== "shell" || message.header?.msg_type !== "execute_request") return;
      const parent = message.header;
      const status = message.content?.code === "raise" ? "error" : "ok";
      const reply = (channel: string, msgType: string, content: Record<string, unknown>) => ({
        header: {
          msg_id: `${parent.msg_id}-${msgType}`,
          msg_type: msgType,
          username,
          session: "kernel",
          date: new Date().toISOString(),
          version: "5.3",
        },
        msg_id: `${parent.msg_id}-${msgType}`,
        msg_type: msgType,
        parent_header: parent,
        metadata: {},
        content,
        buffers: [],
        channel,
      });
      socket.send(JSON.stringify(reply("shell", "execute_reply", { status, execution_count: 1 })));
      socket.send(JSON.stringify(reply("iopub", "status", { execution_state: "idle" })));
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  const port = address && typeof address === "object" ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
