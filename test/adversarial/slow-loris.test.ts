import { connect, type Socket } from "node:net";
import t from "tap";
import {
  assertBackToBaseline,
  assertNothingCrashed,
  echoes,
  settledFootprint,
  proxyFor,
  rawRequest,
  rawUpstream,
} from "../support/adversarial.js";
import { sleep, waitUntil } from "../support/wait.js";

/*
 * Slow-loris: 1,000 connections that send a request head one byte at a time. Normal requests keep their latency
 * meanwhile, and every slow connection is cut at --headers-timeout (checked every second).
 */

const SLOW = Number(process.env.SLOW_LORIS_CONNECTIONS) || 1000;
const HEADERS_TIMEOUT_MS = 4000;

async function latencies(port: number, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = process.hrtime.bigint();
    const answer = await rawRequest(
      port,
      `POST /echo/${i} HTTP/1.1\r\nHost: hub\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello`,
      { waitMs: 5000 },
    );
    if (answer.status !== 200 || !answer.text.endsWith("hello"))
      throw new Error(`request ${i}: ${answer.status}`);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return times.sort((a, b) => a - b);
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

t.test(
  `${SLOW} slow-loris connections: normal requests keep their latency, the slow ones are cut`,
  async (t) => {
    const upstream = await rawUpstream(t, (request, socket) => void echoes(request, socket));
    const proxy = await proxyFor(t, upstream.url, { LTICTR_HEADERS_TIMEOUT: String(HEADERS_TIMEOUT_MS) });
    await latencies(proxy.port, 50);
    const baseline = await settledFootprint(proxy);
    const before = await latencies(proxy.port, 300);

    const head = "GET /slow HTTP/1.1\r\nHost: hub\r\nX-Padding: " + "a".repeat(200);
    const slow: Array<{ socket: Socket; closed: boolean }> = [];
    for (let i = 0; i < SLOW; i++) {
      const socket = connect(proxy.port, "127.0.0.1");
      const entry = { socket, closed: false };
      socket.on("error", () => undefined);
      socket.on("close", () => (entry.closed = true));
      socket.resume(); // Reads the 408, so the proxy's close is seen.
      slow.push(entry);
    }
    t.teardown(() => slow.forEach((entry) => entry.socket.destroy()));
    const openedAt = Date.now();
    let position = 0;
    const drip = setInterval(() => {
      const byte = head[position++ % head.length];
      for (const entry of slow) if (!entry.closed) entry.socket.write(byte);
    }, 200);
    t.teardown(() => clearInterval(drip));
    await sleep(500);
    const during = await latencies(proxy.port, 300);
    await waitUntil(
      () => slow.every((entry) => entry.closed),
      "every slow connection to be cut",
      HEADERS_TIMEOUT_MS + 10_000,
    );
    const cutAfter = Date.now() - openedAt;
    clearInterval(drip);

    const summary = (name: string, sorted: number[]) =>
      `${name}: p50 ${quantile(sorted, 0.5).toFixed(2)} ms, p99 ${quantile(sorted, 0.99).toFixed(2)} ms`;
    t.comment(summary("before", before));
    t.comment(summary(`beside ${SLOW} slow connections`, during));
    t.ok(
      quantile(during, 0.5) <= quantile(before, 0.5) * 3 + 5,
      `median latency kept (${quantile(before, 0.5).toFixed(2)} → ${quantile(during, 0.5).toFixed(2)} ms)`,
    );
    t.ok(
      quantile(during, 0.99) <= quantile(before, 0.99) * 3 + 20,
      `p99 latency kept (${quantile(before, 0.99).toFixed(2)} → ${quantile(during, 0.99).toFixed(2)} ms)`,
    );
    t.ok(cutAfter < HEADERS_TIMEOUT_MS + 3000, `all ${SLOW} cut ${cutAfter} ms after they opened`);
    await assertBackToBaseline(t, proxy, baseline, `${SLOW} slow-loris connections`);
    assertNothingCrashed(t, proxy);
  },
);
