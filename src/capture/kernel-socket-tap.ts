import type { IncomingHttpHeaders } from "node:http";
import { events, type KernelSessionEvent } from "../events.js";
import type { Logger } from "../log/logger.js";
import {
  EXECUTE_REPLY,
  EXECUTE_REQUEST,
  executeMarkAt,
  type KernelMessageDecoder,
} from "../jupyter/kernel-message.js";
import { v1OnShellChannel } from "../jupyter/v1-decoder.js";
import { decoderFor, wireFormatOf, type WireFormat } from "../jupyter/wire-format.js";
import {
  FrameParser,
  type DataOpcode,
  type SkipListener,
  type SkipReason,
} from "../websocket/frame-parser.js";
import { MemoryBudget } from "../websocket/memory-budget.js";
import type { FrameDirection, SocketTap, SocketTapFactory, UpgradeContext } from "../websocket/socket-tap.js";
import {
  ExecutionTracker,
  PendingExecutions,
  type ExecutionCounts,
  type PendingExecutionsOptions,
} from "./execution-tracker.js";
import { parseKernelChannelUrl, type KernelChannel } from "./kernel-channel.js";
import type { LaunchCookieCodec } from "../lti/launch-cookie.js";
import type { RecordSink } from "./nb-log-record.js";

export interface KernelSocketTapOptions {
  sink: RecordSink;
  logger: Logger;
  /** Reads the launch cookie on upgrades; without it no `ltictr` records are produced. */
  cookieCodec?: LaunchCookieCodec;
  /** Kernel messages larger than this are not inspected (still relayed). Default 64 MiB. */
  maxMessageBytes?: number;
  /**
   * Bytes one socket (both directions) may hold for messages that span several reads; a message that does not
   * fit is relayed uninspected. Default 16 MiB.
   */
  socketMemoryBytes?: number;
  /** Bytes all sockets together may hold that way. Default 128 MiB. */
  memoryBytes?: number;
  pending?: PendingExecutionsOptions;
}

const DEFAULT_SOCKET_MEMORY_BYTES = 16 * 1024 * 1024;
const DEFAULT_MEMORY_BYTES = 128 * 1024 * 1024;
/** Skipped messages are logged at most this often (a summary of those in between). */
const SKIP_LOG_INTERVAL_MS = 60_000;

function nextReplyMark(chunk: Buffer, from: number): number {
  return executeMarkAt(chunk, EXECUTE_REPLY, from);
}

/** `execute_request"`: how the type name ends in a request's JSON (see executeMarkAt). */
const EXECUTE_REQUEST_MARK = Buffer.from(`${EXECUTE_REQUEST}"`);

/** One open kernel socket as the operator sees it: what its events say, and what it has seen so far. */
export interface KernelSessionStatus extends KernelSessionEvent {
  /** Epoch ms. */
  openedAt: number;
  counts: ExecutionCounts;
  /** False once inspection stopped (a protocol violation or an internal error); the socket is still relayed. */
  inspecting: boolean;
}

export interface CaptureStatus {
  sessions: KernelSessionStatus[];
  /**
   * execute_requests that were not cell runs, waiting for the reply that is left out, over all sockets (cell runs
   * are not remembered: see PendingExecutions).
   */
  pendingNonCellRequests: number;
  /** Bytes held for kernel messages that span several reads, over all sockets. */
  heldBytes: number;
  /** Kernel messages relayed without inspection since start (too large, or no memory left to reassemble). */
  skippedMessages: number;
}

/** Chooses the kernel channel sockets among all relayed WebSockets and gives each its own observer. */
export class KernelSocketTap implements SocketTapFactory {
  private readonly pending: PendingExecutions;
  private readonly open = new Set<KernelSocketObserver>();
  private readonly memory: MemoryBudget;
  private readonly skips: SkipReport;
  private nextId = 1;

  constructor(private readonly options: KernelSocketTapOptions) {
    this.pending = new PendingExecutions(options.pending);
    this.memory = new MemoryBudget(options.memoryBytes ?? DEFAULT_MEMORY_BYTES);
    this.skips = new SkipReport(options.logger);
  }

  tapFor(upgrade: UpgradeContext): SocketTap | undefined {
    try {
      const channel = parseKernelChannelUrl(upgrade.url);
      if (!channel) return undefined;
      const budget = new MemoryBudget(
        this.options.socketMemoryBytes ?? DEFAULT_SOCKET_MEMORY_BYTES,
        this.memory,
      );
      return new KernelSocketObserver(this.nextId++, channel, upgrade, this.options, {
        pending: this.pending,
        registry: this.open,
        budget,
        skips: this.skips,
      });
    } catch (error) {
      this.options.logger.warn({ err: error }, "capture: cannot inspect this WebSocket");
      return undefined;
    }
  }

  /** Kernel sockets open now (cheap, unlike `status()`). */
  get openCount(): number {
    return this.open.size;
  }

  /** Bytes held now for unfinished kernel messages, over all sockets (cheap, unlike `status()`). */
  get heldBytes(): number {
    return this.memory.used;
  }

  status(): CaptureStatus {
    return {
      sessions: Array.from(this.open, (observer) => observer.status()),
      pendingNonCellRequests: this.pending.size,
      heldBytes: this.memory.used,
      skippedMessages: this.skips.total,
    };
  }
}

/**
 * Counts and reports kernel messages that were relayed without inspection: each one as an event (the
 * `ltictr_capture_skipped_messages` metric), and in the log at most once a minute, so a flood of them (a client
 * sending huge unfinished messages on purpose) cannot flood the log too.
 */
class SkipReport {
  total = 0;
  private sinceLog = 0;
  private lastLogAt = -Infinity;

  constructor(private readonly logger: Logger) {}

  readonly skipped = (reason: SkipReason, bytes: number, kernelId: string): void => {
    this.total++;
    this.sinceLog++;
    if (events.captureSkipped.active) events.captureSkipped.publish({ reason, bytes });
    const now = Date.now();
    if (now - this.lastLogAt < SKIP_LOG_INTERVAL_MS) return;
    this.lastLogAt = now;
    this.logger.warn(
      { kernelId, reason, bytes, skipped: this.sinceLog },
      "capture: %d kernel message(s) relayed without inspection (latest: %s, %d bytes); next report in a minute at the earliest",
      this.sinceLog,
      reason === "memory-budget" ? "capture memory budget full" : "message too large",
      bytes,
    );
    this.sinceLog = 0;
  };
}

/** What every observer shares with the tap that made it. */
interface ObserverShared {
  pending: PendingExecutions;
  registry: Set<KernelSocketObserver>;
  /** This socket's budget, inside the tap's. */
  budget: MemoryBudget;
  skips: SkipReport;
}

/**
 * One kernel WebSocket: frame parser per direction → wire-format decoder → execution tracker. Whatever
 * goes wrong in here is caught, logged once and ends the inspection of this socket only; the relay
 * never sees an exception. The request URL is never logged (it may carry `?token=`).
 */
class KernelSocketObserver implements SocketTap, SkipListener {
  private readonly tracker: ExecutionTracker;
  private readonly logger: Logger;
  private readonly maxMessageBytes: number | undefined;
  // Made with each direction's bytes and dropped when they end between messages: many kernel sockets sit idle.
  private fromClient: FrameParser | undefined;
  private fromServer: FrameParser | undefined;
  private decoder: KernelMessageDecoder = decoderFor("legacy");
  private format: WireFormat | undefined;
  private readonly openedAt = Date.now();
  private readonly user: string | undefined;
  private readonly launchIds: { instId: string; ltiId: string } | undefined;
  private stopped = false;
  private closedOnce = false;
  private gaveUpLogged = false;

  private readonly registry: Set<KernelSocketObserver>;
  private readonly budget: MemoryBudget;
  private readonly skips: SkipReport;

  constructor(
    private readonly id: number,
    private readonly channel: KernelChannel,
    upgrade: UpgradeContext,
    options: KernelSocketTapOptions,
    shared: ObserverShared,
  ) {
    const { pending, skips } = shared;
    this.registry = shared.registry;
    this.budget = shared.budget;
    this.skips = skips;
    this.logger = options.logger;
    const cookie = upgrade.headers.cookie;
    const launch = options.cookieCodec?.read(typeof cookie === "string" ? cookie : undefined);
    this.user = upgrade.routeUser;
    this.launchIds = launch && { instId: launch.instId, ltiId: launch.ltiId };
    this.tracker = new ExecutionTracker({
      kernelId: channel.kernelId,
      sessionId: channel.sessionId,
      routeUser: upgrade.routeUser,
      launch,
      sink: options.sink,
      pending,
      logger: options.logger,
      socketId: id,
    });
    this.maxMessageBytes = options.maxMessageBytes;
  }

  status(): KernelSessionStatus {
    return {
      ...this.event(),
      openedAt: this.openedAt,
      counts: { ...this.tracker.counts },
      inspecting: !this.stopped,
    };
  }

  private event(): KernelSessionEvent {
    return {
      id: this.id,
      kernelId: this.channel.kernelId,
      sessionId: this.channel.sessionId,
      user: this.user,
      format: this.format,
      instId: this.launchIds?.instId,
      ltiId: this.launchIds?.ltiId,
    };
  }

  prepareRequest(headers: Record<string, string | string[] | undefined>): void {
    this.guard(() => {
      // Without an extension the frames are never compressed, so every message stays readable.
      for (const name of Object.keys(headers)) {
        if (name.toLowerCase() === "sec-websocket-extensions") delete headers[name];
      }
    });
  }

  opened(headers: IncomingHttpHeaders): void {
    this.guard(() => {
      const format = wireFormatOf(headers);
      this.format = format;
      this.decoder = decoderFor(format);
      this.registry.add(this);
      if (events.kernelSessionOpened.active) events.kernelSessionOpened.publish(this.event());
      if (headers["sec-websocket-extensions"] !== undefined) {
        this.logger.warn(
          { kernelId: this.channel.kernelId },
          "capture: upstream negotiated a WebSocket extension",
        );
      }
      this.logger.debug({ kernelId: this.channel.kernelId, format }, "capture: kernel channel opened");
      this.tracker.connected();
    });
  }

  clientBytes(chunk: Buffer): void {
    this.fromClient ??= new FrameParser((opcode, payload) => this.onClientMessage(opcode, payload), {
      maxMessageBytes: this.maxMessageBytes,
      budget: this.budget,
      skips: this,
      // Browser frames are masked: a message is unmasked only if the request's type name is in it.
      maskedMark: EXECUTE_REQUEST_MARK,
    });
    if (this.feed(this.fromClient, chunk)) this.fromClient = undefined;
  }

  serverBytes(chunk: Buffer): void {
    const v1 = this.format === "v1";
    this.fromServer ??= new FrameParser((opcode, payload) => this.onServerMessage(opcode, payload), {
      maxMessageBytes: this.maxMessageBytes,
      budget: this.budget,
      skips: this,
      // Server frames are unmasked. v1: only shell messages can be replies, as their offset table says (99 % of
      // the messages are iopub outputs). Legacy: a message without the reply's type name in its bytes is none.
      isRelevant: v1 ? v1OnShellChannel : undefined,
      nextMark: v1 ? undefined : nextReplyMark,
    });
    if (this.feed(this.fromServer, chunk)) this.fromServer = undefined;
  }

  skipped(reason: SkipReason, bytes: number): void {
    this.skips.skipped(reason, bytes, this.channel.kernelId);
  }

  closed(): void {
    this.stopped = true;
    if (this.closedOnce) return;
    this.closedOnce = true;
    this.fromClient?.dispose();
    this.fromServer?.dispose();
    if (this.registry.delete(this) && events.kernelSessionClosed.active)
      events.kernelSessionClosed.publish(this.event());
  }

  betweenFrames(direction: FrameDirection): boolean | undefined {
    if (this.stopped) return undefined;
    const parser = direction === "toServer" ? this.fromClient : this.fromServer;
    return parser === undefined || parser.atFrameBoundary;
  }

  /**
   * Pushes a chunk; true when the parser is at rest afterwards (between messages): the caller drops it, and the
   * direction's next bytes make a new one — an idle kernel socket then holds no parser at all.
   */
  private feed(parser: FrameParser, chunk: Buffer): boolean {
    if (this.stopped) return false;
    // As `guard` does, without a closure per read: this runs for every chunk of every kernel socket.
    try {
      parser.push(chunk);
    } catch (error) {
      this.fail(error);
      return false;
    }
    if (parser.gaveUp !== undefined && !this.gaveUpLogged) {
      this.gaveUpLogged = true;
      this.logger.warn(
        {
          kernelId: this.channel.kernelId,
          direction: parser === this.fromClient ? "client" : "server",
          reason: parser.gaveUp,
        },
        "capture: WebSocket protocol violation, no longer inspecting this direction",
      );
    }
    return parser.atRest;
  }

  private onClientMessage(opcode: DataOpcode, payload: Buffer): void {
    const message = this.decoder.decode(opcode, payload, EXECUTE_REQUEST);
    if (message) this.tracker.clientMessage(message);
  }

  private onServerMessage(opcode: DataOpcode, payload: Buffer): void {
    const message = this.decoder.decode(opcode, payload, EXECUTE_REPLY);
    if (message) this.tracker.serverMessage(message);
  }

  private guard(action: () => void): void {
    if (this.stopped) return;
    try {
      action();
    } catch (error) {
      this.fail(error);
    }
  }

  private fail(error: unknown): void {
    this.stopped = true;
    this.logger.error(
      { err: error, kernelId: this.channel.kernelId },
      "capture: inspection failed, no longer inspecting this socket",
    );
  }
}
