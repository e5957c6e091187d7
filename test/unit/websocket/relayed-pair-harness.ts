/** A RelayedPair without a tap between two loopback socket pairs (browser side, kernel side), for the relay's unit tests. */
import { once } from "node:events";
import { createServer, connect, type Socket } from "node:net";
import type { Test } from "tap";
import type { RouteMatch } from "../../../src/routing/route-store.js";
import type { HeldReads } from "../../../src/websocket/read-hold.js";
import { RelayedPair, type PairOwner } from "../../../src/websocket/relayed-pair.js";

/** Two connected loopback sockets: `near` is the relay's side, `far` the peer's. */
async function socketPair(t: Test): Promise<{ near: Socket; far: Socket }> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  const far = connect(typeof address === "object" && address ? address.port : 0, "127.0.0.1");
  const [near] = (await once(server, "connection")) as [Socket];
  server.close();
  t.teardown(() => {
    near.destroy();
    far.destroy();
  });
  return { near, far };
}

export class RecordingOwner implements PairOwner {
  activity = 0;
  closed: RelayedPair[] = [];
  clientActivity(): void {
    this.activity++;
  }
  pairClosed(pair: RelayedPair): void {
    this.closed.push(pair);
  }
}

const ROUTE = { prefix: "/user/a", data: {} } as unknown as RouteMatch;

export async function relayed(t: Test, owner: PairOwner, serverReads?: HeldReads) {
  const browser = await socketPair(t);
  const kernel = await socketPair(t);
  const pair = new RelayedPair(browser.near, kernel.near, ROUTE, undefined, owner, serverReads);
  pair.start();
  return { pair, browser: browser.far, kernel: kernel.far, client: browser.near, server: kernel.near };
}

export function collect(socket: Socket): { text: () => string } {
  let received = "";
  socket.on("data", (chunk: Buffer) => (received += chunk.toString("latin1")));
  return { text: () => received };
}
