import { resolve } from "node:path";
import { Command } from "commander";
import { replayDeadLetters } from "../delivery/dead-letters.js";
import { createLogger } from "../log/logger.js";

/**
 * `ltictr-proxy replay-dead-letters --data-dir <dir>`: moves the records Moodle refused (e.g. before a token was
 * fixed) back into the spool; the proxy delivers them on its next start. Run it while the proxy is stopped.
 */
export function replayDeadLettersCommand(argv: string[]): number {
  const command = new Command("ltictr-proxy replay-dead-letters")
    .description("Move dead-lettered records back into the delivery spool (run while the proxy is stopped)")
    .option("--data-dir <dir>", "The proxy's state folder (default $STATE_DIRECTORY or ./var)")
    .option("--spool-max-bytes <n>", "Disk the spool may use", (v) => Number(v))
    .allowExcessArguments(false)
    .exitOverride();
  command.parse(argv, { from: "user" });
  const options = command.opts<{ dataDir?: string; spoolMaxBytes?: number }>();
  const dataDir = resolve(options.dataDir ?? process.env.STATE_DIRECTORY ?? "var");
  const logger = createLogger({ level: "info" });
  const result = replayDeadLetters(dataDir, { spoolMaxBytes: options.spoolMaxBytes, logger });
  logger.info(
    "Replayed %d dead-lettered records into the spool of %s; %d kept",
    result.replayed,
    dataDir,
    result.kept,
  );
  return result.kept === 0 ? 0 : 1;
}
