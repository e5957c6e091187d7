import { pino } from "pino";
import type { Logger } from "../../src/log/logger.js";

/** A pino logger whose lines stay in memory, for asserting what an operator would read. */
export function captureLogger(): { logger: Logger; lines: string[]; messages: () => string[] } {
  const lines: string[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => void lines.push(line) });
  const messages = () => lines.map((line) => String((JSON.parse(line) as { msg?: unknown }).msg ?? ""));
  return { logger, lines, messages };
}
