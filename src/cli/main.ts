import { CommanderError } from "commander";
import { parseCommandLine } from "../config/command-line.js";
import { ConfigError } from "../config/config-error.js";
import { prepareDataDir } from "../config/data-dir.js";
import { resolveConfig } from "../config/resolve-config.js";
import { createLogger, type Logger } from "../log/logger.js";
import { Runtime } from "../runtime/runtime.js";
import { VERSION } from "../version.js";

/** Exit codes: 1 configuration error (as CHP), 2 stopped by SIGTERM/SIGINT (as CHP), 3 could not start. */
const EXIT_CONFIG = 1;
const EXIT_SIGNAL = 2;
const EXIT_START = 3;

/** Subcommands that run and exit instead of starting the proxy; loaded only when asked for (start-up time). */
const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  "replay-dead-letters": async (argv) =>
    (await import("./replay-dead-letters.js")).replayDeadLettersCommand(argv),
  spawner: async (argv) => (await import("./spawner-command.js")).spawnerCommand(argv),
};

export async function main(argv: string[]): Promise<void> {
  const command = COMMANDS[argv[0] ?? ""];
  if (command) {
    try {
      process.exit(await command(argv.slice(1)));
    } catch (error) {
      if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : EXIT_CONFIG);
      process.stderr.write(`error: ${(error as Error).message}\n`);
      process.exit(EXIT_CONFIG);
    }
  }
  let log: Logger;
  let starting: Promise<Runtime> | undefined;
  let stopping: Promise<void> | undefined;
  /** A signal during start-up waits for the start to finish, then stops what was started. */
  const stop = (signal: "SIGTERM" | "SIGINT", started: Promise<Runtime>) => {
    if (stopping) return;
    log.warn(signal === "SIGTERM" ? "Terminated" : "Interrupted");
    stopping = (async () => {
      // A start that fails exits with EXIT_START below, before this goes on.
      const runtime = await started;
      const hardStop = setTimeout(
        () => process.exit(EXIT_SIGNAL),
        runtime.config.server.shutdownTimeoutMs + 2000,
      );
      hardStop.unref();
      await runtime.stop();
    })().then(
      () => process.exit(EXIT_SIGNAL),
      (error: unknown) => {
        log.error({ err: error }, "Shutdown failed");
        process.exit(EXIT_SIGNAL);
      },
    );
  };
  try {
    const { values, env, warnings } = parseCommandLine(argv, process.env, VERSION, process.argv[1]);
    const config = resolveConfig(values, env);
    prepareDataDir(config.dataDir);
    log = createLogger({ level: config.log.level, format: config.log.format });
    for (const warning of warnings) log.warn(warning);
    const started = Runtime.start(config, log);
    starting = started;
    process.on("SIGTERM", () => stop("SIGTERM", started));
    process.on("SIGINT", () => stop("SIGINT", started));
    await started;
  } catch (error) {
    if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : EXIT_CONFIG);
    if (error instanceof ConfigError) {
      process.stderr.write(`error: ${error.message}\n`);
      process.exit(EXIT_CONFIG);
    }
    const err = error as NodeJS.ErrnoException;
    process.stderr.write(`error: cannot start: ${err.message}\n`);
    process.exit(EXIT_START);
  }

  const running = await starting;
  process.on("SIGHUP", () => running.reloadCertificates());
  process.on("exit", () => running.removeFiles());
  // After start-up nothing may take the proxy down (CHP's rule too): log and keep serving.
  process.on("uncaughtException", (error) =>
    log.error({ err: error }, "Uncaught Exception: %s", error.message),
  );
  process.on("unhandledRejection", (reason) =>
    log.error({ err: reason }, "Unhandled rejection: %s", String(reason)),
  );
}
