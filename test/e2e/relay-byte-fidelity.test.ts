import type { Socket } from "node:net";
import { once } from "node:events";
import t from "tap";
import {
  encodeFrame,
  OP_BINARY,
  OP_CONTINUATION,
  OP_PING,
  OP_TEXT,
  randomBytesFrom,
  randomInt,
  seededRandom,
  splitRandomly,
} from "../support/frame-builder.js";
import { openKernelSocket, receiveExactly, relayThroughProxy } from "../support/raw-ws-backend.js";

/**
 * Property test through the binary: whatever travels over a kernel-channel WebSocket — valid frames, garbage,
 * truncated headers, 64-bit lengths, oversized and corrupt messages — arrives byte for byte on the other side,
 * in both directions, and the proxy keeps serving. The tap inspects these sockets; it must never show.
 */

/** Streams of the kinds a buggy or hostile peer could send; `masked` for the client direction. */
function hostileStream(random: () => number, masked: boolean, kind: number): Buffer {
  const maskKey = () => (masked ? randomBytesFrom(random, 4) : undefined);
  const frames: Buffer[] = [];
  switch (kind) {
    case 0: // pure noise
      frames.push(randomBytesFrom(random, 1 + randomInt(random, 200_000)));
      break;
    case 1: // valid kernel-ish messages, fragmented, with pings, then garbage
      for (let i = 0; i < 20; i++) {
        const payload = Buffer.from(
          JSON.stringify({
            channel: "shell",
            header: { msg_type: "execute_reply", msg_id: String(i) },
            content: { status: "ok" },
          }),
        );
        frames.push(
          encodeFrame({ opcode: OP_TEXT, payload: payload.subarray(0, 10), fin: false, maskKey: maskKey() }),
        );
        frames.push(encodeFrame({ opcode: OP_PING, payload: Buffer.from("p"), maskKey: maskKey() }));
        frames.push(
          encodeFrame({ opcode: OP_CONTINUATION, payload: payload.subarray(10), maskKey: maskKey() }),
        );
      }
      frames.push(randomBytesFrom(random, 5000));
      break;
    case 2: // a 64-bit length far beyond what follows (truncated giant frame)
      frames.push(Buffer.from([0x82, masked ? 0xff : 0x7f, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0xff]));
      frames.push(randomBytesFrom(random, 70_000));
      break;
    case 3: // a 3 MB binary message, then corrupt v1 offsets
      frames.push(
        encodeFrame({ opcode: OP_BINARY, payload: randomBytesFrom(random, 3_000_000), maskKey: maskKey() }),
      );
      frames.push(
        encodeFrame({
          opcode: OP_BINARY,
          payload: Buffer.from([6, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255]),
          maskKey: maskKey(),
        }),
      );
      break;
    default: // reserved opcodes, RSV bits, continuation without start, then valid frames
      frames.push(encodeFrame({ opcode: 3, payload: randomBytesFrom(random, 50), maskKey: maskKey() }));
      frames.push(
        encodeFrame({ opcode: OP_TEXT, rsvBits: 0x30, payload: Buffer.from("{}"), maskKey: maskKey() }),
      );
      frames.push(encodeFrame({ opcode: OP_CONTINUATION, payload: Buffer.from("x"), maskKey: maskKey() }));
      frames.push(
        encodeFrame({ opcode: OP_TEXT, payload: Buffer.from('{"channel":"shell"}'), maskKey: maskKey() }),
      );
  }
  return Buffer.concat(frames);
}

async function writeInChunks(socket: Socket, stream: Buffer, random: () => number): Promise<void> {
  for (const chunk of splitRandomly(stream, random, 64 * 1024)) {
    if (!socket.write(chunk)) await once(socket, "drain");
  }
}

t.test("relayed bytes are never changed, whatever they are", async (t) => {
  const { backend, port, proxy } = await relayThroughProxy(t);

  for (let round = 0; round < 10; round++) {
    const random = seededRandom(1000 + round);
    const kind = round % 5;
    const toServer = hostileStream(random, true, kind);
    const toClient = hostileStream(random, false, (kind + 2) % 5);
    const { client, upstream, fromProxy, bodyStart } = await openKernelSocket(port, backend, "fuzz");
    await Promise.all([
      writeInChunks(client, toServer, random),
      writeInChunks(upstream.socket, toClient, random),
    ]);
    const atServer = await receiveExactly(upstream.received, toServer.length);
    const atClient = (
      await receiveExactly(() => Buffer.concat(fromProxy), bodyStart + toClient.length)
    ).subarray(bodyStart);
    t.ok(atServer.equals(toServer), `round ${round}: ${toServer.length} client bytes arrived unchanged`);
    t.ok(atClient.equals(toClient), `round ${round}: ${toClient.length} server bytes arrived unchanged`);
    client.destroy();
    upstream.socket.destroy();
  }
  const health = await fetch(`http://127.0.0.1:${port}/_chp_healthz`);
  t.equal(health.status, 200, "the proxy still serves");
  t.equal(proxy.process.child.exitCode, null, "the proxy process is alive");
  t.notMatch(
    proxy.process.stdout() + proxy.process.stderr(),
    /Uncaught|Unhandled/,
    "no uncaught error was logged",
  );
});

/** Kernel-like output: valid binary frames from a few bytes to 200 KB (many span the proxy's 64 KiB reads). */
function outputFrames(random: () => number, total: number): Buffer {
  const frames: Buffer[] = [];
  for (let length = 0; length < total; length += frames[frames.length - 1]!.length) {
    const size = random() < 0.2 ? randomInt(random, 200_000) : randomInt(random, 3_000);
    frames.push(encodeFrame({ opcode: OP_BINARY, payload: randomBytesFrom(random, size) }));
  }
  return Buffer.concat(frames);
}

t.test("clients that stop reading get every byte unchanged while other sockets stream", async (t) => {
  // The proxy reads an upstream into memory it reuses, and must not read into it again while a write to a slow
  // client still holds its bytes; sockets that rest share one memory. Four sockets stream at once, each client
  // stopping for a while every few reads, so writes are left pending on every socket while the others read.
  const { backend, port, proxy } = await relayThroughProxy(t);
  const sockets = [];
  for (let i = 0; i < 4; i++) sockets.push(await openKernelSocket(port, backend, "slow"));
  await Promise.all(
    sockets.map(async ({ client, upstream, fromProxy, bodyStart }, i) => {
      const random = seededRandom(2000 + i);
      const toClient = outputFrames(random, 6 * 1024 * 1024);
      client.on("data", () => {
        if (random() < 0.1) {
          client.pause();
          setTimeout(() => client.resume(), randomInt(random, 30));
        }
      });
      await writeInChunks(upstream.socket, toClient, random);
      const atClient = (
        await receiveExactly(() => Buffer.concat(fromProxy), bodyStart + toClient.length)
      ).subarray(bodyStart);
      t.ok(atClient.equals(toClient), `socket ${i}: ${toClient.length} server bytes arrived unchanged`);
      client.destroy();
      upstream.socket.destroy();
    }),
  );
  t.equal(proxy.process.child.exitCode, null, "the proxy process is alive");
});
