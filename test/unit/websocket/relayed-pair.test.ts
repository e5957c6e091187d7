import { once } from "node:events";
import { createServer, connect, type Socket } from "node:net";
import t, { type Test } from "tap";
import type { RouteMatch } from "../../../src/routing/route-store.js";
import { RelayedPair, type PairOwner } from "../../../src/websocket/relayed-pair.js";
import { sleep, waitUntil } from "../../support/wait.js";

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

class RecordingOwner implements PairOwner {
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

async function relayed(t: Test, owner: PairOwner) {
  const browser = await socketPair(t);
  const kernel = await socketPair(t);
  const pair = new RelayedPair(browser.near, kernel.near, ROUTE, undefined, owner);
  pair.start();
  return { pair, browser: browser.far, kernel: kernel.far, client: browser.near, server: kernel.near };
}

function collect(socket: Socket): { text: () => string } {
  let received = "";
  socket.on("data", (chunk: Buffer) => (received += chunk.toString("latin1")));
  return { text: () => received };
}

t.test("bytes go both ways unchanged, client bytes are reported as route activity", async (t) => {
  const owner = new RecordingOwner();
  const { browser, kernel } = await relayed(t, owner);
  const atKernel = collect(kernel);
  const atBrowser = collect(browser);
  browser.write(Buffer.from("\x81\x05hello", "latin1"));
  kernel.write(Buffer.from("\x81\x05world", "latin1"));
  await waitUntil(
    () => atKernel.text() === "\x81\x05hello" && atBrowser.text() === "\x81\x05world",
    "both frames relayed",
  );
  t.ok(owner.activity >= 1, "the client's bytes were noted as activity");
});

t.test("a side that ends ends the other; a side that closes closes the pair once", async (t) => {
  const owner = new RecordingOwner();
  const { pair, browser, kernel } = await relayed(t, owner);
  kernel.resume();
  const kernelEnded = once(kernel, "end");
  browser.end();
  await kernelEnded;
  t.pass("the upstream saw the client's end");
  kernel.destroy();
  await waitUntil(() => owner.closed.length > 0, "the pair closed");
  await once(browser, "close");
  t.same(owner.closed, [pair], "the owner was told once");
});

t.test("a full side pauses the other until it drains; nothing is lost", async (t) => {
  const { browser, kernel, client, server } = await relayed(t, new RecordingOwner());
  kernel.pause();
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  // Loopback buffers can take several MiB before the relay's write to the upstream side reports it full.
  let sent = 0;
  for (let i = 0; !server.writableNeedDrain && sent < 512 * 2 ** 20; i++) {
    browser.write(chunk);
    sent += chunk.length;
    if (i % 16 === 15) await sleep(5);
  }
  t.ok(server.writableNeedDrain, `the upstream side is full after ${sent} bytes`);
  t.ok(client.isPaused(), "the client side is paused while the upstream side is full");
  let received = 0;
  kernel.on("data", (bytes: Buffer) => (received += bytes.length));
  kernel.resume();
  await waitUntil(() => received === sent, "every byte relayed");
  t.equal(received, sent, "every byte arrived once the reader read");
  t.notOk(client.isPaused(), "the client side flows again");
});

t.test("pairs share their listeners: an idle relayed socket holds no closure of its own", async (t) => {
  const first = await relayed(t, new RecordingOwner());
  const second = await relayed(t, new RecordingOwner());
  const sameFunctions = (a: Socket, b: Socket, event: string) => {
    const [mine, theirs] = [a.listeners(event), b.listeners(event)];
    return mine.length > 0 && mine.length === theirs.length && mine.every((f, i) => f === theirs[i]);
  };
  for (const event of ["data", "end", "close", "error"]) {
    t.ok(sameFunctions(first.client, second.client, event), `client "${event}": the same functions`);
    t.ok(sameFunctions(first.server, second.server, event), `upstream "${event}": the same functions`);
  }
});
