import { EventEmitter } from "node:events";
import type { ServerResponse } from "node:http";
import t from "tap";
import { SseHub } from "../../../src/admin/sse-hub.js";

/** The part of a ServerResponse the hub uses, recording what it gets. */
class FakeResponse extends EventEmitter {
  status = 0;
  chunks: string[] = [];
  writableLength = 0;
  ended = false;
  destroyed = false;
  writeHead(status: number): this {
    this.status = status;
    return this;
  }
  write(chunk: string): boolean {
    this.chunks.push(chunk);
    return true;
  }
  end(): void {
    this.ended = true;
    this.emit("close");
  }
  destroy(): void {
    this.destroyed = true;
    this.emit("close");
  }
}

const hubWith = (options: Partial<ConstructorParameters<typeof SseHub>[0]> = {}) =>
  new SseHub({ maxClients: 3, maxBufferedBytes: 1000, heartbeatMs: 20, retryMs: 2000, ...options });
const open = (hub: SseHub, owner?: string) => {
  const res = new FakeResponse();
  return { res, opened: hub.open(res as unknown as ServerResponse, owner) };
};

t.test("every client gets the same serialised event", async (t) => {
  const hub = hubWith();
  t.teardown(() => hub.close());
  const a = open(hub);
  const b = open(hub);
  t.equal(a.res.status, 200);
  t.same(a.res.chunks, ["retry: 2000\n\n"], "the reconnection delay first");
  hub.broadcast("tick", { n: 1 });
  t.equal(a.res.chunks[1], 'event: tick\ndata: {"n":1}\n\n');
  t.equal(b.res.chunks[1], a.res.chunks[1]);
});

t.test("the number of clients is capped", async (t) => {
  const hub = hubWith();
  t.teardown(() => hub.close());
  const clients = [open(hub), open(hub), open(hub)];
  t.ok(clients.every((c) => c.opened));
  const fourth = open(hub);
  t.notOk(fourth.opened, "the fourth is refused");
  t.equal(fourth.res.status, 0, "and nothing was written to it");
  clients[0]?.res.emit("close");
  t.equal(hub.size, 2, "a client that goes away leaves");
  t.ok(open(hub).opened, "and makes room");
});

t.test("a client that does not read is dropped once its backlog passes the bound", async (t) => {
  const hub = hubWith({ maxBufferedBytes: 100 });
  t.teardown(() => hub.close());
  const slow = open(hub);
  const fast = open(hub);
  slow.res.writableLength = 80;
  hub.broadcast("x", "0123456789"); // 30 bytes: 80 + 30 > 100
  t.ok(slow.res.destroyed, "dropped");
  t.equal(hub.dropped, 1);
  t.equal(hub.size, 1);
  t.match(fast.res.chunks.at(-1), /0123456789/, "the others still get it");
});

t.test("a session's streams end with it; closing ends all and refuses new ones", async (t) => {
  const hub = hubWith();
  const mine = open(hub, "session-a");
  const other = open(hub, "session-b");
  hub.closeOwner("session-a");
  t.ok(mine.res.ended);
  t.notOk(other.res.ended);
  hub.close();
  t.ok(other.res.ended);
  t.notOk(open(hub).opened, "closed for good");
});

t.test("heartbeats run while somebody listens, and stop after", async (t) => {
  const hub = hubWith({ heartbeatMs: 10 });
  t.teardown(() => hub.close());
  const client = open(hub);
  await new Promise((resolve) => setTimeout(resolve, 45));
  t.ok(client.res.chunks.filter((c) => c === ": heartbeat\n\n").length >= 2, "comment lines keep it alive");
  client.res.emit("close");
  const written = client.res.chunks.length;
  await new Promise((resolve) => setTimeout(resolve, 30));
  t.equal(client.res.chunks.length, written);
});
