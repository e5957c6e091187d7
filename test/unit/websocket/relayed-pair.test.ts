import { once } from "node:events";
import type { Socket } from "node:net";
import t from "tap";
import { sleep, waitUntil } from "../../support/wait.js";
import { collect, RecordingOwner, relayed } from "./relayed-pair-harness.js";

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

t.test(
  "client bytes release the upstream's held reads; shutdown's close frames stop the relaying",
  async (t) => {
    let releases = 0;
    const { pair, browser } = await relayed(t, new RecordingOwner(), { releaseHold: () => releases++ });
    t.equal(pair.relaying, true);
    browser.write(Buffer.from("\x81\x02hi", "latin1"));
    await waitUntil(() => releases > 0, "the client's bytes released the upstream");
    t.equal(releases, 1, "once per client read");
    pair.closeGoingAway(10);
    t.equal(pair.relaying, false, "after the close frames, held reads stay stopped");
  },
);

t.test("a closed pair is not relaying", async (t) => {
  const { pair } = await relayed(t, new RecordingOwner());
  pair.close();
  t.equal(pair.relaying, false);
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
