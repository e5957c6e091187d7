import { pino, type Logger, type LevelWithSilent } from "pino";
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
 */
function textLines(output: LogOutput, colour: boolean) {
  return {
    write(line: string): void {
      const entry = JSON.parse(line) as {
        level: number;
        time: number;
        msg?: string;
        err?: { stack?: string };
      };
      const name = pino.levels.labels[entry.level] ?? "info";
      const [open, close] = colour ? (COLOURS[name] ?? ["", ""]) : ["", ""];
      const tail = entry.err?.stack ? `\n${entry.err.stack}` : "";
      output.write(
        `${isoTime(entry.time)} [ConfigProxy] ${open}${name}${close}: ${entry.msg ?? ""}${tail}\n`,
      );
    },
  };
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
