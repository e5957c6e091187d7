import type { RequestListener } from "node:http";
import type { TokenCheck } from "../api/token-check.js";
import type { SpawnerConfig } from "../config/config.js";
import { ConfigError } from "../config/config-error.js";
import type { Logger } from "../log/logger.js";
import { EngineClient } from "../spawner/engine/engine-client.js";
import { loadHostAccounts } from "../spawner/host/host-accounts.js";
import { localHostFiles } from "../spawner/host/host-files.js";
import { loadSpawnerPolicy, SpawnerPolicyError } from "../spawner/policy/load-spawner-policy.js";
import { DEFAULT_SPAWNER_POLICY, type SpawnerPolicy } from "../spawner/policy/spawner-policy.js";
import { ContainerSpawner } from "../spawner/service/container-spawner.js";
import { ensureHostDirectories } from "../spawner/service/host-directories.js";
import { SpawnerEndpoint } from "../spawner/service/spawner-endpoint.js";

export interface OpenedSpawnerEndpoint {
  handle: RequestListener;
  /** The engine and policy in use, shared with the admin page's images and volumes. */
  engine: EngineClient;
  policy: SpawnerPolicy;
  /** Closes the connections to the container engine. */
  close(): Promise<void>;
}

/**
 * The spawner endpoint for `--engine-socket` / `--spawner-policy`: the policy is read at start (a bad file stops
 * the proxy with exit 1); the engine is only contacted by the first request, so the proxy starts and keeps
 * serving while the engine is down.
 */
export function openSpawnerEndpoint(
  config: SpawnerConfig,
  tokens: TokenCheck,
  log: Logger,
): OpenedSpawnerEndpoint {
  const policy = readPolicy(config.policyFile);
  const engine = new EngineClient({ socketPath: config.engineSocket });
  const endpoint = new SpawnerEndpoint({
    operations: new ContainerSpawner({
      engine,
      policy,
      accounts: () => loadHostAccounts(),
      hostFiles: localHostFiles,
      makeDirectories: ensureHostDirectories,
      log,
    }),
    tokens,
    log,
  });
  log.info(
    "Spawner endpoint at /api/spawner, container engine %s, policy %s",
    config.engineSocket,
    config.policyFile ?? "(built-in defaults)",
  );
  return { handle: endpoint.handle, engine, policy, close: () => engine.close() };
}

function readPolicy(file: string | undefined): SpawnerPolicy {
  if (file === undefined) return DEFAULT_SPAWNER_POLICY;
  try {
    return loadSpawnerPolicy(file);
  } catch (error) {
    if (error instanceof SpawnerPolicyError) throw new ConfigError(`--spawner-policy: ${error.message}`);
    throw error;
  }
}
