import { readFileSync } from "node:fs";
import { CommanderError } from "commander";
import { ProxyApp } from "../app.js";
import { ConfigError } from "../config/config-error.js";
import { prepareDataDir } from "../config/data-dir.js";
import { resolveSettings, type Settings } from "../config/settings.js";
import { createCaptureRole, type RecordStage } from "../capture/capture-role.js";
import { RecordsFileSink } from "../capture/records-file-sink.js";
import { DeliveryService } from "../delivery/delivery-service.js";
import { createLogger, type Logger } from "../log/logger.js";
import type { ProxyMetrics } from "../metrics/metrics.js";
import { parseCommandLine } from "./command-line.js";
import { replayDeadLettersCommand } from "./replay-dead-letters.js";

const VERSION = (
  JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string }
).version;

/** Exit codes: 1 configuration error (as CHP), 2 stopped by SIGTERM/SIGINT (as CHP), 3 could not start. */
const EXIT_CONFIG = 1;
const EXIT_SIGNAL = 2;
const EXIT_START = 3;

export async function main(argv: string[]): Promise<void> {
  if (argv[0] === "replay-dead-letters") {
    try {
      process.exit(replayDeadLettersCommand(argv.slice(1)));
    } catch (error) {
      if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : EXIT_CONFIG);
      process.stderr.write(`error: ${(error as Error).message}\n`);
      process.exit(EXIT_CONFIG);
    }
  }
  let log: Logger;
  let app: ProxyApp;
  try {
    const { options, env, warnings } = parseCommandLine(argv, process.env, VERSION, process.argv[1]);
    const settings = resolveSettings(options, env);
    prepareDataDir(settings.dataDir);
    log = createLogger({ level: options.logLevel, format: options.logFormat });
    for (const warning of warnings) log.warn(warning);
    // Metrics cost a little on every request and prom-client megabytes of memory: both only when served.
    const metrics = settings.metricsListen
      ? new (await import("../metrics/metrics.js")).ProxyMetrics()
      : undefined;
    const capture = await createCaptureRole({
      dataDir: settings.dataDir,
      acceptLegacyCookies: Boolean(options.legacyLmsCookies),
      stages: await recordStages(settings, log, metrics),
      log,
      metrics,
    });
    app = await ProxyApp.start(settings, log, { metrics, capture });
  } catch (error) {
    if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : EXIT_CONFIG);
    if (error instanceof ConfigError) {
      process.stderr.write(`error: ${error.message}\n`);
      process.exit(EXIT_CONFIG);
    }
    const err = error as NodeJS.ErrnoException;
    if (err.code === "MODULE_NOT_FOUND" || err.code === "ERR_MODULE_NOT_FOUND") {
      process.stderr.write(`error: ${err.message.split("\n")[0]}\n`);
      process.exit(EXIT_CONFIG);
    }
    process.stderr.write(`error: cannot start: ${err.message}\n`);
    process.exit(EXIT_START);
  }

  const stop = (signal: "SIGTERM" | "SIGINT") => {
    log.warn(signal === "SIGTERM" ? "Terminated" : "Interrupted");
    const hardStop = setTimeout(() => process.exit(EXIT_SIGNAL), app.settings.options.shutdownTimeout + 2000);
    hardStop.unref();
    app.shutdown().then(
      () => process.exit(EXIT_SIGNAL),
      (error: unknown) => {
        log.error({ err: error }, "Shutdown failed");
        process.exit(EXIT_SIGNAL);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGHUP", () => app.reloadCertificates());
  process.on("exit", () => app.removeFiles());
  // After start-up nothing may take the proxy down (CHP's rule too): log and keep serving.
  process.on("uncaughtException", (error) =>
    log.error({ err: error }, "Uncaught Exception: %s", error.message),
  );
  process.on("unhandledRejection", (reason) =>
    log.error({ err: reason }, "Unhandled rejection: %s", String(reason)),
  );
}

/** Where captured records go: the optional JSON-lines file, then durable delivery to Moodle. */
async function recordStages(
  settings: Settings,
  log: Logger,
  metrics: ProxyMetrics | undefined,
): Promise<RecordStage[]> {
  const { options } = settings;
  const stages: RecordStage[] = [];
  if (options.recordsFile) stages.push(new RecordsFileSink(options.recordsFile));
  if (!options.moodleUrl && options.moodleAllow.length === 0) {
    log.warn("No Moodle configured (--moodle-url, --moodle-allow): captured records are not delivered");
    return stages;
  }
  const delivery = await DeliveryService.open({
    dataDir: settings.dataDir,
    moodle:
      options.moodleUrl && settings.moodleToken
        ? { baseUrl: options.moodleUrl, token: settings.moodleToken }
        : undefined,
    allowOrigins: options.moodleAllow,
    batchSize: options.deliveryBatchSize,
    batchAgeMs: options.deliveryBatchAge,
    concurrency: options.deliveryConcurrency,
    spoolMaxBytes: options.spoolMaxBytes,
    multiRecord: Boolean(options.moodleMultiRecord),
    requestTimeoutMs: 30_000,
    logger: log,
    metrics,
  });
  delivery.start();
  stages.push(delivery);
  return stages;
}
