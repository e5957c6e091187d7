import type { Logger } from "../log/logger.js";
import type { ProxyMetrics } from "../metrics/metrics.js";
import type { LaunchObserver } from "../forward/launch-observer.js";
import type { SocketTapFactory } from "../websocket/socket-tap.js";
import { KernelSocketTap } from "./kernel-socket-tap.js";
import { LaunchCapture } from "./launch-capture.js";
import { LaunchCookieCodec } from "../lti/launch-cookie.js";
import type { CapturedRecord, RecordSink } from "./nb-log-record.js";

/** A record sink that may hold resources (files, connections, a delivery loop). */
export interface RecordStage extends RecordSink {
  /** Drains what was accepted, waiting at most `timeoutMs`. */
  flush?(timeoutMs: number): Promise<unknown>;
  close?(): void | Promise<void>;
}

/** The ltictr role: kernel-socket inspection and LTI launch capture feeding the record stages. */
export interface CaptureRole {
  taps: SocketTapFactory;
  launches: LaunchObserver;
  flush(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export interface CaptureRoleOptions {
  dataDir: string;
  acceptLegacyCookies: boolean;
  stages: RecordStage[];
  log: Logger;
  metrics?: ProxyMetrics;
}

export async function createCaptureRole(options: CaptureRoleOptions): Promise<CaptureRole> {
  const { stages, log } = options;
  const codec = await LaunchCookieCodec.open(options.dataDir, {
    acceptLegacyCookies: options.acceptLegacyCookies,
  });
  const sink: RecordSink = {
    accept(record: CapturedRecord): void {
      for (const stage of stages) stage.accept(record);
    },
  };
  return {
    taps: new KernelSocketTap({ sink, logger: log, metrics: options.metrics, cookieCodec: codec }),
    launches: new LaunchCapture(codec, log),
    async flush(timeoutMs: number): Promise<void> {
      await Promise.all(stages.map((stage) => stage.flush?.(timeoutMs)));
    },
    async close(): Promise<void> {
      for (const stage of stages) await stage.close?.();
    },
  };
}
