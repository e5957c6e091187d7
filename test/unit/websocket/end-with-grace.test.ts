import { once } from "node:events";
import { createServer, connect, type Server, type Socket } from "node:net";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import t, { type Test } from "tap";
import { endWithGrace } from "../../../src/websocket/end-with-grace.js";
import { sleep } from "../../support/wait.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const ANSWER = "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";

async function listener(t: Test): Promise<{ server: Server; port: number }> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.teardown(() => server.close());
  const address = server.address();
  return { server, port: typeof address === "object" && address ? address.port : 0 };
}

t.test("a client that reads and closes: the socket is not held for the grace period", async (t) => {
  const { server, port } = await listener(t);
  const client = connect(port, "127.0.0.1");
  t.teardown(() => client.destroy());
  let received = "";
  client.on("data", (chunk: Buffer) => (received += chunk.toString("latin1")));
  client.on("end", () => client.end());
  // The accepted socket is only reachable through the WeakRef (and the grace timer, if it were left pending).
  const [ref, closed] = await new Promise<[WeakRef<Socket>, Promise<unknown>]>((resolve) =>
    server.once("connection", (socket: Socket) => {
      const closing = once(socket, "close");
      endWithGrace(socket, 60_000, ANSWER);
      resolve([new WeakRef(socket), closing]);
    }),
  );
  await closed;
  t.equal(received, ANSWER, "the last bytes arrived");
  await sleep(10);
  gc();
  t.equal(ref.deref(), undefined, "the closed socket was collected long before the 60 s grace period");
});

t.test("a client that never reads nor closes: destroyed once the grace period is over", async (t) => {
  const { server, port } = await listener(t);
  const client = connect(port, "127.0.0.1");
  t.teardown(() => client.destroy());
  client.pause();
  const socket = (await once(server, "connection"))[0] as Socket;
  const started = Date.now();
  endWithGrace(socket, 300);
  await once(socket, "close");
  t.ok(
    Date.now() - started >= 250,
    `destroyed after ${Date.now() - started} ms, not before the grace period`,
  );
});
