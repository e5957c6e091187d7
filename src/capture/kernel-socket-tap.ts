import type { IncomingHttpHeaders } from "node:http";
import { events, type KernelSessionEvent } from "../events.js";
import type { Logger } from "../log/logger.js";
import {
  EXECUTE_REPLY,
  EXECUTE_REQUEST,
  executeMarkAt,
  type KernelMessageDecoder,
} from "../jupyter/kernel-message.js";
import { decoderFor, wireFormatOf, type WireFormat } from "../jupyter/wire-format.js";
import { FrameParser, type DataOpcode } from "../websocket/frame-parser.js";
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
  pending?: PendingExecutionsOptions;
}

function nextReplyMark(chunk: Buffer, from: number): number {
  return executeMarkAt(chunk, EXECUTE_REPLY, from);
}

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
  /** Requests waiting for their reply, over all sockets. */
  pendingExecutions: number;
}

/** Chooses the kernel channel sockets among all relayed WebSockets and gives each its own observer. */
export class KernelSocketTap implements SocketTapFactory {
  private readonly pending: PendingExecutions;
  private readonly open = new Set<KernelSocketObserver>();
  private nextId = 1;

  constructor(private readonly options: KernelSocketTapOptions) {
    this.pending = new PendingExecutions(options.pending);
  }

  tapFor(upgrade: UpgradeContext): SocketTap | undefined {
    try {
      const channel = parseKernelChannelUrl(upgrade.url);
      if (!channel) return undefined;
      return new KernelSocketObserver(this.nextId++, channel, upgrade, this.options, this.pending, this.open);
    } catch (error) {
      this.options.logger.warn({ err: error }, "capture: cannot inspect this WebSocket");
      return undefined;
    }
  }

  status(): CaptureStatus {
    return {
      sessions: Array.from(this.open, (observer) => observer.status()),
      pendingExecutions: this.pending.size,
    };
  }
}

/**
 * One kernel WebSocket: frame parser per direction → wire-format decoder → execution tracker. Whatever
 * goes wrong in here is caught, logged once and ends the inspection of this socket only; the relay
 * never sees an exception. The request URL is never logged (it may carry `?token=`).
 */
class KernelSocketObserver implements SocketTap {
  private readonly tracker: ExecutionTracker;
  private readonly logger: Logger;
  private readonly maxMessageBytes: number | undefined;
  // Made with each direction's first bytes: many kernel sockets sit idle, and a parser per direction adds up.
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

  constructor(
    private readonly id: number,
    private readonly channel: KernelChannel,
    upgrade: UpgradeContext,
    options: KernelSocketTapOptions,
    pending: PendingExecutions,
    private readonly registry: Set<KernelSocketObserver>,
  ) {
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
    });
    this.feed(this.fromClient, chunk);
  }

  serverBytes(chunk: Buffer): void {
    this.fromServer ??= new FrameParser((opcode, payload) => this.onServerMessage(opcode, payload), {
      maxMessageBytes: this.maxMessageBytes,
      // Server frames are unmasked: a message without the reply's type name in its bytes is no reply (99 %).
      nextMark: nextReplyMark,
    });
    this.feed(this.fromServer, chunk);
  }

  closed(): void {
    this.stopped = true;
    if (this.closedOnce) return;
    this.closedOnce = true;
    if (this.registry.delete(this) && events.kernelSessionClosed.active)
      events.kernelSessionClosed.publish(this.event());
  }

  betweenFrames(direction: FrameDirection): boolean | undefined {
    if (this.stopped) return undefined;
    const parser = direction === "toServer" ? this.fromClient : this.fromServer;
    return parser === undefined || parser.atFrameBoundary;
  }

  private feed(parser: FrameParser, chunk: Buffer): void {
    this.guard(() => {
      parser.push(chunk);
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
    });
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
      this.stopped = true;
      this.logger.error(
        { err: error, kernelId: this.channel.kernelId },
        "capture: inspection failed, no longer inspecting this socket",
      );
    }
  }
}
