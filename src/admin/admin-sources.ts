import type { ListenerStatus } from "../app.js";
import type { TokenCheck } from "../api/token-check.js";
import type { CaptureStatus } from "../capture/kernel-socket-tap.js";
import type { DeadLetterSummary, ReplayResult } from "../delivery/dead-letters.js";
import type { DeliveryStatus } from "../delivery/delivery-service.js";
import type { SpoolStatus } from "../delivery/spool/spool.js";
import type { RouteData } from "../routing/route-store.js";
import type { EngineClient } from "../spawner/engine/engine-client.js";
import type { RelayStatus } from "../websocket/ws-relay.js";

/**
 * What the admin page reads and may do, as the runtime hands it over: the same stores and counters the proxy
 * runs on, and route removal through the same rules as the REST API. Nothing here holds a secret the page could
 * show: the Moodle token stays inside the delivery stage, the API token inside `tokens`.
 */
export interface AdminSources {
  version: string;
  /** Epoch ms. */
  startedAt: number;
  /** Signs in (the REST API token, or the generated admin token when the API has none). */
  tokens: TokenCheck;
  routes: AdminRoutes;
  relay: { status(): RelayStatus; readonly openCount: number };
  capture: { status(): CaptureStatus; readonly openCount: number };
  /** Absent when no Moodle is configured. */
  delivery?: AdminDelivery;
  /** The Moodle origins records may go to (`--moodle-url`'s and `--moodle-allow`). */
  moodleOrigins: string[];
  /** Absent when no container engine is configured (`--engine-socket`). */
  engine?: AdminEngine;
  /** The bound listeners and their certificates; undefined while they are still being bound. */
  listeners(): ListenerStatus | undefined;
}

export interface AdminRoutes {
  getAll(): Record<string, RouteData> | Promise<Record<string, RouteData>>;
  get(path: string): RouteData | undefined | Promise<RouteData | undefined>;
  /** Through the REST API's rules (log lines, events, activity, pool clean-up); false when there is none. */
  remove(path: string): Promise<boolean>;
  /** Writes waiting `last_activity` notes, so that a listing shows the newest. */
  flushActivity(): Promise<void>;
  status(): { backend: string; routes: number | undefined; connected?: boolean; lastError?: string };
}

export interface AdminDelivery {
  status(): DeliveryStatus;
  /** The spool's figures without reading any file (taken every second). */
  queue(): SpoolStatus;
  listDeadLetters(limit: number): { total: number; letters: DeadLetterSummary[] };
  replayDeadLetters(): ReplayResult;
}

export interface AdminEngine {
  client: EngineClient;
  /** The spawner policy's image name filter (mod_lticontainer's tokens); null shows every image. */
  imageFilter: string | null;
  /** Host part of new course volume names: the configured Moodle's host, when there is one. */
  defaultHost?: string;
}
