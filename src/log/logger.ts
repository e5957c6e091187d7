import { pino, symbols, type DestinationStreamWithMetadata, type Logger, type LevelWithSilent } from "pino";
import { isoTime } from "../iso-time.js";
import { LogOutput } from "./log-output.js";

export type { Logger };

export type LogFormat = "text" | "json";

/** CHP's (winston npm) level names mapped to pino's. */
const LEVELS: Record<string, LevelWithSilent> = {
  error: "error",
  warn: "warn",
  info: "info",
  http: "debug",
  verbose: "debug",
  debug: "debug",
  silly: "trace",
  trace: "trace",
  silent: "silent",
};

export function isLogLevel(name: string): boolean {
  return Object.hasOwn(LEVELS, name.toLowerCase());
}

const COLOURS: Record<string, [string, string]> = {
  error: ["\x1b[31m", "\x1b[39m"],
  warn: ["\x1b[33m", "\x1b[39m"],
  info: ["\x1b[32m", "\x1b[39m"],
  debug: ["\x1b[34m", "\x1b[39m"],
  trace: ["\x1b[35m", "\x1b[39m"],
};

/** Fields whose values never reach a log line, wherever they appear. */
export const REDACTED_PATHS = [
  "token",
  "authorization",
  "cookie",
  "password",
  "wstoken",
  "rpcToken",
  "*.token",
  "*.authorization",
  "*.cookie",
  "*.password",
  "*.wstoken",
  "*.rpcToken",
  "headers.authorization",
  "headers.cookie",
];

/**
 * Text lines in CHP's shape (`<ISO time> [ConfigProxy] <level>: <message>`) on stdout, so JupyterHub's and
 * CHP's readiness checks keep working.
 *
 * The line is made from what pino hands a stream that asks for its metadata (the level, the formatted message, the
 * object logged, the time), not by parsing the JSON line pino made: that parse was a tenth of a route API call's CPU,
 * which logs three lines. An error's stack is the one the JSON line would show (pino's serializer adds causes).
 */
function textLines(output: LogOutput, colour: boolean): DestinationStreamWithMetadata {
  const stream = {
    [symbols.needsMetadataGsym]: true as const,
    lastLevel: 0,
    lastTime: "",
    lastMsg: "",
    lastObj: {} as object,
    lastLogger: undefined as unknown as Logger,
    write(): void {
      const name = pino.levels.labels[stream.lastLevel] ?? "info";
      const [open, close] = colour ? (COLOURS[name] ?? ["", ""]) : ["", ""];
      const message = stream.lastMsg ?? "";
      output.write(
        `${isoTime(Number(stream.lastTime))} [ConfigProxy] ${open}${name}${close}: ${message}${errorTail(stream.lastObj)}\n`,
      );
    },
  };
  return stream;
}

/** An error logged as `{ err }` (or as the first argument): its stack with causes, on the lines after the message. */
function errorTail(logged: object): string {
  const err: unknown = (logged as { err?: unknown }).err;
  if (err === undefined || err === null || typeof err !== "object") return "";
  const { stack } = pino.stdSerializers.err(err as Error) as { stack?: unknown };
  return typeof stack === "string" && stack !== "" ? `\n${stack}` : "";
}

export interface LoggerOptions {
  level?: string;
  format?: LogFormat;
  /** File descriptor to write to; stdout by default (CHP logs every level to stdout). */
  fd?: number;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = LEVELS[(options.level ?? "info").toLowerCase()] ?? "info";
  const fd = options.fd ?? 1;
  const redact = { paths: REDACTED_PATHS, censor: "[redacted]" };
  // Node opens its stdout handle non-blocking (pipes, sockets): a write to a full pipe then fails and is retried
  // later, instead of holding a thread of the pool, or the exit, for as long as the reader does not read.
  const stdoutIsTTY = fd === 1 && process.stdout.isTTY === true;
  const output = new LogOutput({
    fd,
    onDropped: (lines) => logger.warn("%d log lines dropped: the reader of the log did not keep up", lines),
  });
  const logger =
    options.format === "json"
      ? pino({ level, redact, base: { name: "ltictr-proxy" } }, output)
      : // A text line shows the message, the level, the time and an error's stack, nothing else: neither pid nor
        // hostname, which pino need not write for it to parse, nor any field that redaction would censor.
        pino({ level, base: null }, textLines(output, Boolean(process.env.FORCE_COLOR) || stdoutIsTTY));
  return logger;
}
