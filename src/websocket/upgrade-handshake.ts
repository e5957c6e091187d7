import type { IncomingHttpHeaders } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { connectUpstream, readyEvent, type ClientTls } from "../http1/connect-upstream.js";
import { ResponseHeadReader, type ReadResponseHead } from "../http1/response-head-reader.js";
import { upstreamError } from "../http1/upstream-exchange.js";
import type { UpstreamTarget } from "../http1/upstream-target.js";
import { UpstreamReads } from "./upstream-reads.js";

/** The upstream's answer to an upgrade: its final head, and the client-facing view of its headers. */
export interface UpgradeAnswer extends ReadResponseHead {
  headers: IncomingHttpHeaders;
}

export interface HandshakeDeadlines {
  /** Until the upstream connection is open. */
  connectMs: number;
  /**
   * From the request to the upstream's answer. jupyter_server answers a kernel channel upgrade only once the
   * kernel has answered kernel_info (up to its 60 s `kernel_info_timeout`), so this must be longer than that.
   */
  responseMs: number;
}

export interface HandshakeOutcome {
  /** The upstream connection, paused, when it answered. */
  upstream: Socket;
  /** Its reads, for a plain (not TLS) upstream: see UpstreamReads. */
  reads: UpstreamReads | undefined;
  answer: UpgradeAnswer;
  /** Bytes the client sent while the handshake ran (the client socket is paused once it is done). */
  early: Buffer;
}

/**
 * Client bytes kept while waiting for the upstream's answer. A WebSocket client sends nothing before the 101;
 * the client socket is read only to notice it leave (a FIN is seen only by reading), so this bounds a client that
 * sends anyway: past it, the socket is paused and only a reset is noticed until the answer.
 */
const EARLY_BYTES_LIMIT = 64 * 1024;

/**
 * Sends an upgrade request to the upstream and reads its answer without an HTTP client, so nothing of the
 * handshake outlives it. Whatever happens, the upstream connection is not left open behind a failure: a
 * malformed or oversized answer, a deadline, or the client going away (`client` closing) destroys it.
 */
export function upgradeHandshake(
  client: Duplex,
  target: UpstreamTarget,
  clientTls: ClientTls,
  request: string,
  deadlines: HandshakeDeadlines,
  done: (error: Error | undefined, outcome?: HandshakeOutcome) => void,
): void {
  if (client.destroyed) {
    done(upstreamError("client went away before the upgrade", "ECONNABORTED"));
    return;
  }
  let upstream: Socket;
  const reads = target.secure ? undefined : new UpstreamReads();
  try {
    upstream = connectUpstream(target, clientTls, reads?.readOptions());
    reads?.attach(upstream);
  } catch (error) {
    done(error as Error);
    return;
  }
  const reader = new ResponseHeadReader("GET");
  let settled = false;
  let timer = setTimeout(
    () => finish(upstreamError("upstream connect timeout", "ETIMEDOUT")),
    deadlines.connectMs,
  );
  const onReady = () => {
    clearTimeout(timer);
    timer = setTimeout(
      () => finish(upstreamError("upstream did not answer the upgrade in time", "ETIMEDOUT")),
      deadlines.responseMs,
    );
    // The request head was built from header strings Node decoded as latin1: written back the same way, every
    // byte goes upstream as the client sent it.
    upstream.write(request, "latin1");
  };
  const onData = (chunk: Buffer) => {
    let read: ReadResponseHead | undefined;
    try {
      read = reader.push(chunk);
      // Informational answers (100, 102, 103) come before the final one; only a 101 or a final status counts.
      while (read && read.head.status < 200 && read.head.status !== 101)
        read = read.rest.length > 0 ? reader.push(read.rest) : undefined;
    } catch (error) {
      finish(error as Error);
      return;
    }
    if (!read) return;
    const headers: IncomingHttpHeaders = {};
    const flat = read.head.headers;
    for (let i = 0; i < flat.length; i += 2) headers[flat[i]] = flat[i + 1];
    finish(undefined, { ...read, headers });
  };
  const onEnd = () => finish(upstreamError("socket hang up", "ECONNRESET"));
  const onError = (error: Error) => finish(error);
  const onClientGone = () => finish(upstreamError("client went away during the upgrade", "ECONNABORTED"));
  const early: Buffer[] = [];
  let earlyBytes = 0;
  const onClientData = (chunk: Buffer) => {
    early.push(chunk);
    earlyBytes += chunk.length;
    if (earlyBytes > EARLY_BYTES_LIMIT) client.pause();
  };
  const finish = (error: Error | undefined, answer?: UpgradeAnswer) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    upstream.off(readyEvent(target), onReady);
    upstream.off("data", onData);
    upstream.off("end", onEnd);
    upstream.off("error", onError);
    client.off("close", onClientGone);
    client.off("error", onClientGone);
    client.off("end", onClientGone);
    client.pause();
    client.off("data", onClientData);
    if (error || !answer) {
      upstream.on("error", ignore);
      upstream.destroy();
      done(error ?? new Error("no answer"));
      return;
    }
    upstream.pause();
    done(undefined, { upstream, reads, answer, early: Buffer.concat(early, earlyBytes) });
  };
  upstream.once(readyEvent(target), onReady);
  upstream.on("data", onData);
  upstream.on("end", onEnd);
  upstream.on("error", onError);
  client.once("close", onClientGone);
  client.once("error", onClientGone);
  client.once("end", onClientGone);
  client.on("data", onClientData);
}

function ignore(): void {}
