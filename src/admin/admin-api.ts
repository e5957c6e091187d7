import { RouteStoreUnavailable } from "../routing/route-store.js";
import { courseVolumeName, type CourseVolumeRole } from "../spawner/course-volume-name.js";
import {
  createCourseVolume,
  listAllCourseVolumes,
  removeCourseVolume,
  type CourseVolume,
} from "../spawner/engine/course-volumes.js";
import { ENGINE_ERROR_STATUS, EngineError } from "../spawner/engine/engine-errors.js";
import { listImages, type EngineImage } from "../spawner/engine/images.js";
import type { CaptureStatus } from "../capture/kernel-socket-tap.js";
import type { DeadLetterSummary, ReplayResult } from "../delivery/dead-letters.js";
import type { DeliveryStatus } from "../delivery/delivery-service.js";
import type { OriginStatus } from "../delivery/scheduler.js";
import { AdminError } from "./admin-error.js";
import { SERIES_SECONDS, type AdminFeed, type SeriesName, type Totals } from "./admin-feed.js";
import type { AdminEngine, AdminSources } from "./admin-sources.js";
import type { SeriesHistory } from "./rate-series.js";
import type { ResultsSnapshot } from "./results-aggregator.js";
import { routeRow, type RouteRow } from "./route-rows.js";
import type { SseHub } from "./sse-hub.js";

const DAY_MS = 24 * 60 * 60 * 1000;
/** Dead letters listed on the Delivery page (newest first); the total is always given. */
const DEAD_LETTERS_LISTED = 100;

/** `GET /admin/api/overview`. */
export interface Overview {
  version: string;
  startedAt: number;
  now: number;
  routes: { count: number | undefined; backend: string; connected?: boolean };
  openWebSockets: number;
  kernelSockets: number;
  totals: Totals;
  queue?: { depth: number; oldestCapturedAt?: number; full: boolean };
  deadLetters?: number;
  certificates: Array<{ listener: string; subject: string; validTo: string; daysLeft: number }>;
  moodle: MoodleOriginState[];
  series: SeriesHistory<SeriesName> & { seconds: number };
  features: { delivery: boolean; engine: boolean };
  page: { streams: number; dropped: number };
}

/** A Moodle origin and how delivery to it goes (`idle`: nothing sent yet). */
export type MoodleOriginState = Partial<Omit<OriginStatus, "state">> & {
  origin: string;
  state: OriginStatus["state"] | "idle";
};

export interface DeliveryView {
  status: DeliveryStatus;
  moodle: MoodleOriginState[];
  deadLetters: { total: number; letters: DeadLetterSummary[] };
}

const ROLES: Readonly<Record<string, CourseVolumeRole>> = {
  task: "task",
  submit: "submit",
  personal: "personal",
};

/**
 * The JSON the page shows, read from the running proxy, and the few things it may change. Every answer is built
 * from the stages' own status: nothing is cached here.
 */
export class AdminApi {
  constructor(
    private readonly sources: AdminSources,
    private readonly feed: AdminFeed,
    private readonly hub: SseHub,
  ) {}

  overview(): Overview {
    const { sources } = this;
    const routes = sources.routes.status();
    const delivery = sources.delivery?.status();
    const queue = delivery?.spool;
    const now = Date.now();
    return {
      version: sources.version,
      startedAt: sources.startedAt,
      now,
      routes: { count: routes.routes, backend: routes.backend, connected: routes.connected },
      openWebSockets: sources.relay.openCount,
      kernelSockets: sources.capture.openCount,
      totals: this.feed.totals,
      ...(queue
        ? { queue: { depth: queue.depth, oldestCapturedAt: queue.oldestCapturedAt, full: queue.full } }
        : {}),
      ...(delivery ? { deadLetters: delivery.deadLetters } : {}),
      certificates: (sources.listeners()?.certificates ?? []).flatMap(({ listener, certificate }) =>
        certificate
          ? [
              {
                listener,
                subject: certificate.subject,
                validTo: certificate.validTo.toISOString(),
                daysLeft: Math.floor((certificate.validTo.getTime() - now) / DAY_MS),
              },
            ]
          : [],
      ),
      moodle: this.moodleOrigins(delivery?.scheduler.origins ?? []),
      series: { ...this.feed.series.history(), seconds: SERIES_SECONDS },
      features: { delivery: sources.delivery !== undefined, engine: sources.engine !== undefined },
      page: { streams: this.hub.size, dropped: this.hub.dropped },
    };
  }

  async routes(): Promise<{ routes: RouteRow[] }> {
    const { routes, relay } = this.sources;
    await routes.flushActivity();
    const all = await routes.getAll();
    const sockets = relay.status().byRoute;
    return {
      routes: Object.entries(all)
        .map(([path, data]) => routeRow(path, data, sockets[path] ?? 0))
        .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    };
  }

  async removeRoute(body: Record<string, unknown>): Promise<void> {
    const path = body.path;
    if (typeof path !== "string" || path === "") throw badRequest("'path' must be a route path");
    let removed: boolean;
    try {
      removed = await this.sources.routes.remove(path);
    } catch (error) {
      if (error instanceof RouteStoreUnavailable)
        throw new AdminError(503, "route_store_unavailable", error.message);
      throw error;
    }
    if (!removed) throw new AdminError(404, "no_such_route", `no route ${path}`);
  }

  sessions(): CaptureStatus {
    return this.sources.capture.status();
  }

  results(): ResultsSnapshot {
    return this.feed.results.snapshot();
  }

  delivery(): DeliveryView {
    const delivery = this.requireDelivery();
    const status = delivery.status();
    return {
      status,
      moodle: this.moodleOrigins(status.scheduler.origins),
      deadLetters: delivery.listDeadLetters(DEAD_LETTERS_LISTED),
    };
  }

  replayDeadLetters(): ReplayResult {
    return this.requireDelivery().replayDeadLetters();
  }

  async images(filter: string | null): Promise<{ filter: string | null; images: EngineImage[] }> {
    const engine = this.requireEngine();
    const used = filter ?? engine.imageFilter;
    return { filter: used, images: await engineCall(() => listImages(engine.client, used ?? undefined)) };
  }

  async volumes(): Promise<{ defaultHost?: string; volumes: CourseVolume[] }> {
    const engine = this.requireEngine();
    return {
      ...(engine.defaultHost ? { defaultHost: engine.defaultHost } : {}),
      volumes: await engineCall(() => listAllCourseVolumes(engine.client)),
    };
  }

  async createVolume(body: Record<string, unknown>): Promise<CourseVolume> {
    const engine = this.requireEngine();
    const { course, host, role, name } = body;
    if (typeof role !== "string" || !Object.hasOwn(ROLES, role))
      throw badRequest("'role' must be task, submit or personal");
    if (typeof course !== "string" || typeof host !== "string" || typeof name !== "string")
      throw badRequest("'course', 'host' and 'name' must be strings");
    const volume = await engineCall(async () =>
      courseVolumeName({ role: ROLES[role] as CourseVolumeRole, shortName: name, course, host }),
    );
    return engineCall(() => createCourseVolume(engine.client, volume.name));
  }

  async removeVolume(body: Record<string, unknown>): Promise<void> {
    const engine = this.requireEngine();
    if (typeof body.name !== "string") throw badRequest("'name' must be a course volume name");
    const name = body.name;
    await engineCall(() => removeCourseVolume(engine.client, name));
  }

  /** The configured origins (idle until something was sent) merged with the scheduler's live state. */
  private moodleOrigins(live: OriginStatus[]): MoodleOriginState[] {
    const states = new Map<string, MoodleOriginState>();
    for (const origin of this.sources.moodleOrigins) states.set(origin, { origin, state: "idle" });
    for (const status of live) states.set(status.origin, { ...status });
    return [...states.values()];
  }

  private requireDelivery(): NonNullable<AdminSources["delivery"]> {
    if (!this.sources.delivery)
      throw new AdminError(404, "no_delivery", "no Moodle is configured (--moodle-url, --moodle-allow)");
    return this.sources.delivery;
  }

  private requireEngine(): AdminEngine {
    if (!this.sources.engine)
      throw new AdminError(404, "no_engine", "no container engine is configured (--engine-socket)");
    return this.sources.engine;
  }
}

function badRequest(message: string): AdminError {
  return new AdminError(400, "bad_request", message);
}

/** Engine failures as answers, with the spawner endpoint's statuses (see ENGINE_ERROR_STATUS). */
async function engineCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof EngineError)) throw error;
    throw new AdminError(ENGINE_ERROR_STATUS[error.code], error.code.toLowerCase(), error.message);
  }
}
