import { isIP } from "node:net";
import type { ConnectionOptions } from "node:tls";
import { Redis, type StandaloneConnectionOptions } from "ioredis";
import type { ErrorEmitter } from "ioredis/built/connectors/AbstractConnector.js";
import { StandaloneConnector } from "ioredis/built/connectors/index.js";
import type { NetStream } from "ioredis/built/types.js";
import type { RedisConnectionSettings } from "./redis-url.js";

export interface RedisTimeouts {
  /**
   * Longest wait for an answer from a connected Redis; past it the command fails and the connection is dropped
   * and made again (a Redis that hangs, or a network that drops packets, is then seen as unreachable).
   */
  commandTimeoutMs: number;
  /** Longest wait for a TCP (and TLS) connection. */
  connectTimeoutMs: number;
  /** Reconnect attempts come 100 ms, 200 ms, … apart, at most this much. */
  reconnectMaxDelayMs: number;
}

/**
 * ioredis listens for a socket's errors with `once`. A TLS socket can fail twice — the certificate refused here,
 * then the server's alert about the aborted handshake — and the second error, with no listener left, would be an
 * uncaught exception that ends the process. Each socket gets a listener that stays; ioredis still handles the first.
 */
class ErrorSafeConnector extends StandaloneConnector {
  /** ioredis passes its whole options object, which holds the connection options. */
  constructor(options: unknown) {
    super(options as StandaloneConnectionOptions);
  }

  override async connect(emit: ErrorEmitter): Promise<NetStream> {
    const stream = await super.connect(emit);
    stream.on("error", () => undefined);
    return stream;
  }
}

/**
 * A client that never queues: a command sent while the connection is down fails at once, and commands in flight
 * when it drops fail then, instead of waiting (ioredis's defaults) for a reconnect. The store depends on this to
 * answer writes at once while Redis is unreachable. Subscriptions are made again by the store itself, which then
 * reloads the table: messages published while the connection was down are lost.
 */
export function createRedisClient(
  settings: RedisConnectionSettings,
  timeouts: RedisTimeouts,
  tls?: ConnectionOptions,
): Redis {
  return new Redis({
    host: settings.host,
    port: settings.port,
    db: settings.db,
    username: settings.username,
    password: settings.password,
    tls: settings.tls ? { servername: isIP(settings.host) ? undefined : settings.host, ...tls } : undefined,
    Connector: ErrorSafeConnector,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResubscribe: false,
    autoResendUnfulfilledCommands: false,
    commandTimeout: timeouts.commandTimeoutMs,
    socketTimeout: timeouts.commandTimeoutMs,
    disconnectTimeout: timeouts.commandTimeoutMs,
    connectTimeout: timeouts.connectTimeoutMs,
    retryStrategy: (attempt: number) => Math.min(100 * attempt, timeouts.reconnectMaxDelayMs),
  });
}

/** Open failed: the URL was fine but Redis could not be reached or refused the connection (wrong password, …). */
export class RedisStoreOpenError extends Error {
  readonly code = "REDIS_STORE_OPEN_FAILED";

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RedisStoreOpenError";
  }
}

/** ioredis's message for a command that got no answer within `commandTimeout`. */
export function isCommandTimeout(error: unknown): boolean {
  return error instanceof Error && error.message === "Command timed out";
}
