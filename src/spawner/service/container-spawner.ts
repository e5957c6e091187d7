import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../../log/logger.js";
import type { AccountResolver } from "../host/account-resolver.js";
import {
  createContainer,
  inspectContainer,
  listContainers,
  publishedPort,
  removeContainer,
  startContainer,
  stopContainer,
  type ContainerDetails,
} from "../engine/containers.js";
import type { EngineClient } from "../engine/engine-client.js";
import { ContainerNotFoundError, EngineError, ImageNotFoundError } from "../engine/engine-errors.js";
import { imageExists } from "../engine/images.js";
import type { HostFiles } from "../plan/mounts.js";
import { planContainer, type HostDirectory } from "../plan/plan-container.js";
import type { SpawnerPolicy } from "../policy/spawner-policy.js";
import { containerHubEnvironment } from "./container-environment.js";
import { checkOwner, serverLabels } from "./server-labels.js";
import type { ContainerRequest, StartRequest, StopRequest } from "./spawn-request.js";

/** Where JupyterHub finds the started server (it registers `http://<ip>:<port>` as the user's route). */
export interface StartedServer {
  id: string;
  name: string;
  ip: string;
  port: number;
  /** The engine's warnings about the create request (e.g. a limit the kernel cannot enforce). */
  warnings: string[];
}

/** A server's container as JupyterHub's `poll()` asks about it. */
export interface ServerState {
  running: boolean;
  /** The exit code of a container that ended and still exists. */
  exitCode?: number;
}

export interface StopResult {
  /** False when there was no such container any more. */
  removed: boolean;
}

/** The three operations JupyterHub's spawner hands over. */
export interface SpawnerOperations {
  start(request: StartRequest): Promise<StartedServer>;
  poll(request: ContainerRequest): Promise<ServerState>;
  stop(request: StopRequest): Promise<StopResult>;
}

export interface ContainerSpawnerOptions {
  engine: EngineClient;
  policy: SpawnerPolicy;
  /** The host's accounts, read again for every start (accounts are added while the proxy runs). */
  accounts: () => AccountResolver;
  hostFiles: HostFiles;
  /** Creates the plan's missing host folders. */
  makeDirectories: (directories: readonly HostDirectory[]) => Promise<void>;
  log: Logger;
  now?: () => number;
  /** How long a stop waits for the engine to have removed the container. */
  removalWaitMs?: number;
}

/** The published port is on the loopback address only: JupyterHub and the proxy run on the engine's host. */
const SERVER_IP = "127.0.0.1";

/**
 * Starts, polls and stops single-user server containers for JupyterHub: the plan from the launch and the
 * policy, then the Engine API calls. A refused launch creates nothing; a start that fails after the container
 * was created removes it again.
 */
export class ContainerSpawner implements SpawnerOperations {
  private readonly engine: EngineClient;
  private readonly log: Logger;

  constructor(private readonly options: ContainerSpawnerOptions) {
    this.engine = options.engine;
    this.log = options.log;
  }

  async start(request: StartRequest): Promise<StartedServer> {
    const { policy } = this.options;
    const plan = planContainer({
      parameters: request.launch,
      userName: request.user,
      policy,
      accounts: this.options.accounts(),
      hostFiles: this.options.hostFiles,
      now: this.options.now ?? Date.now,
      hub: {
        environment: containerHubEnvironment(request.environment, policy),
        command: request.command,
        args: request.args,
      },
    });
    if (!(await imageExists(this.engine, plan.create.Image))) throw new ImageNotFoundError(plan.create.Image);
    const labels = serverLabels(request.user, request.server);
    await this.removeLeftovers(labels, request);
    await this.options.makeDirectories(plan.hostDirectories);
    const created = await createContainer(this.engine, plan.name, { ...plan.create, Labels: labels });
    try {
      await startContainer(this.engine, created.id);
      const containerPort = `${policy.notebookPort}/tcp`;
      const port = publishedPort(await inspectContainer(this.engine, created.id), containerPort);
      if (!port || !Number.isInteger(port.hostPort) || port.hostPort <= 0) {
        throw new EngineError(
          "ENGINE_ERROR",
          `the container engine published no host port for ${containerPort}`,
        );
      }
      this.log.info(
        "Started container %s (%s) for %s, server %s, on %s:%d",
        plan.name,
        created.id.slice(0, 12),
        request.user,
        JSON.stringify(request.server),
        SERVER_IP,
        port.hostPort,
      );
      for (const warning of created.warnings) this.log.warn("Container %s: %s", plan.name, warning);
      return {
        id: created.id,
        name: plan.name,
        ip: SERVER_IP,
        port: port.hostPort,
        warnings: created.warnings,
      };
    } catch (error) {
      await removeContainer(this.engine, created.id, { force: true }).catch((removal: unknown) =>
        this.log.error(
          "Removing the container %s that failed to start failed: %s",
          plan.name,
          String(removal),
        ),
      );
      throw error;
    }
  }

  async poll(request: ContainerRequest): Promise<ServerState> {
    const details = await this.ownedContainer(request);
    if (!details) return { running: false };
    return details.running ? { running: true } : { running: false, exitCode: details.exitCode };
  }

  /** Stops the container and removes it; its named volumes (the course's) stay. */
  async stop(request: StopRequest): Promise<StopResult> {
    const details = await this.ownedContainer(request);
    if (!details) return { removed: false };
    await stopContainer(this.engine, details.id, request.timeoutSeconds).catch(ignoreNotFound);
    await removeContainer(this.engine, details.id, { force: true });
    await this.waitUntilGone(details.id);
    this.log.info(
      "Removed container %s of %s, server %s",
      details.name,
      request.user,
      JSON.stringify(request.server),
    );
    return { removed: true };
  }

  /** The named container if it exists, after checking it is that user's server. */
  private async ownedContainer(request: ContainerRequest): Promise<ContainerDetails | undefined> {
    let details: ContainerDetails;
    try {
      details = await inspectContainer(this.engine, request.id);
    } catch (error) {
      if (error instanceof ContainerNotFoundError) return undefined;
      throw error;
    }
    checkOwner(request.id, details.labels, request.user, request.server);
    return details;
  }

  /**
   * Containers of this server from an earlier start that JupyterHub no longer knows about (a Hub that lost its
   * state, a stop that failed): one server has one container.
   */
  private async removeLeftovers(labels: Record<string, string>, request: StartRequest): Promise<void> {
    for (const leftover of await listContainers(this.engine, labels)) {
      this.log.warn(
        "Removing container %s (%s), left from an earlier start of %s, server %s",
        leftover.name,
        leftover.status,
        request.user,
        JSON.stringify(request.server),
      );
      await removeContainer(this.engine, leftover.id, { force: true });
      await this.waitUntilGone(leftover.id);
    }
  }

  /** A removal the engine finishes on its own (an `AutoRemove` racing with ours) may outlast the call. */
  private async waitUntilGone(id: string): Promise<void> {
    const deadline = Date.now() + (this.options.removalWaitMs ?? 10_000);
    for (;;) {
      try {
        await inspectContainer(this.engine, id);
      } catch (error) {
        if (error instanceof ContainerNotFoundError) return;
        throw error;
      }
      if (Date.now() > deadline) {
        throw new EngineError(
          "ENGINE_ERROR",
          `the container engine still lists container ${id} after removing it`,
        );
      }
      await sleep(100);
    }
  }
}

function ignoreNotFound(error: unknown): void {
  if (!(error instanceof ContainerNotFoundError)) throw error;
}
