import type { ContainerCreateBody } from "../container-create.js";
import type { EngineClient } from "./engine-client.js";
import {
  ContainerNotFoundError,
  ImageNotFoundError,
  InvalidNameError,
  NameConflictError,
} from "./engine-errors.js";
import { engineMessage, engineRefused } from "./engine-response.js";

/** Docker's rule for container names (Podman's is the same); also what an ID looks like. */
const CONTAINER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]+$/;

export interface CreatedContainer {
  id: string;
  /** The engine's warnings (e.g. a limit the kernel does not support). */
  warnings: string[];
}

/**
 * Creates a container named `name` from a create body (`POST /containers/create?name=`). Named volumes in
 * `Binds` that do not exist yet are created by the engine. Images are never pulled.
 */
export async function createContainer(
  client: EngineClient,
  name: string,
  body: ContainerCreateBody,
): Promise<CreatedContainer> {
  checkContainerName(name);
  const response = await client.request({
    method: "POST",
    path: "/containers/create",
    query: { name },
    body,
  });
  if (response.status === 201 || response.status === 200) {
    const created = response.body as { Id?: unknown; Warnings?: unknown };
    if (typeof created?.Id !== "string")
      throw engineRefused(`create container ${JSON.stringify(name)}`, response);
    const warnings = Array.isArray(created.Warnings)
      ? created.Warnings.filter((w) => typeof w === "string")
      : [];
    return { id: created.Id, warnings };
  }
  const message = engineMessage(response);
  if (response.status === 404 && /image/i.test(message))
    throw new ImageNotFoundError(body.Image, response.status);
  // Docker answers 409; Podman 4 answers 500 "that name is already in use".
  if (response.status === 409 || /already in use/i.test(message)) {
    throw new NameConflictError("container", name, response.status);
  }
  throw engineRefused(`create container ${JSON.stringify(name)}`, response);
}

/** Starts a created container (`POST /containers/<id>/start`); starting a running one is not an error. */
export async function startContainer(client: EngineClient, container: string): Promise<void> {
  checkContainerName(container);
  const response = await client.request({
    method: "POST",
    path: `/containers/${encodeURIComponent(container)}/start`,
  });
  if (response.status === 204 || response.status === 304) return;
  if (response.status === 404) throw new ContainerNotFoundError(container, response.status);
  throw engineRefused(`start container ${JSON.stringify(container)}`, response);
}

export interface PublishedPort {
  hostIp: string;
  hostPort: number;
}

/** What the spawner needs to know about a container (`GET /containers/<id>/json`). */
export interface ContainerDetails {
  id: string;
  /** Without Docker's leading `/`. */
  name: string;
  image: string;
  /** Docker's words: `created`, `running`, `paused`, `restarting`, `removing`, `exited`, `dead`. */
  status: string;
  running: boolean;
  exitCode: number;
  env: string[];
  user: string;
  labels: Record<string, string>;
  /** As the engine reports them (Podman adds mount options such as `rprivate,rbind`). */
  binds: string[];
  memory: number;
  cpuPeriod: number;
  cpuQuota: number;
  networkMode: string;
  /** The container's own address on a bridge network; absent for host ports only (Podman's `slirp4netns`). */
  ipAddress: string | undefined;
  /** Published ports by container port (`8888/tcp`). */
  ports: Record<string, PublishedPort[]>;
}

export async function inspectContainer(client: EngineClient, container: string): Promise<ContainerDetails> {
  checkContainerName(container);
  const response = await client.request({
    method: "GET",
    path: `/containers/${encodeURIComponent(container)}/json`,
  });
  if (response.status === 404) throw new ContainerNotFoundError(container, response.status);
  if (response.status !== 200 || typeof response.body !== "object" || response.body === null) {
    throw engineRefused(`inspect container ${JSON.stringify(container)}`, response);
  }
  return containerDetails(response.body as InspectAnswer);
}

/** Where the engine published a container port on the host (the first binding), if it did. */
export function publishedPort(
  details: ContainerDetails,
  containerPort = "8888/tcp",
): PublishedPort | undefined {
  return details.ports[containerPort]?.[0];
}

/**
 * Stops a container (`POST /containers/<id>/stop?t=`): SIGTERM (or the image's stop signal), SIGKILL after
 * `timeoutSeconds`. Stopping a stopped container is not an error.
 */
export async function stopContainer(
  client: EngineClient,
  container: string,
  timeoutSeconds = 10,
): Promise<void> {
  checkContainerName(container);
  const response = await client.request({
    method: "POST",
    path: `/containers/${encodeURIComponent(container)}/stop`,
    query: { t: timeoutSeconds },
    extraTimeoutMs: timeoutSeconds * 1000,
  });
  if (response.status === 204 || response.status === 304) return;
  if (response.status === 404) throw new ContainerNotFoundError(container, response.status);
  throw engineRefused(`stop container ${JSON.stringify(container)}`, response);
}

/**
 * Removes a container and its anonymous volumes (`DELETE /containers/<id>?v=true`); named volumes, such as
 * course volumes, are kept. Resolves false when there was no such container (e.g. the engine already removed
 * it after it stopped, for `AutoRemove`). A running container is refused unless `force` is set.
 */
export async function removeContainer(
  client: EngineClient,
  container: string,
  options: { force?: boolean } = {},
): Promise<boolean> {
  checkContainerName(container);
  const response = await client.request({
    method: "DELETE",
    path: `/containers/${encodeURIComponent(container)}`,
    query: { v: true, force: options.force ?? false },
  });
  if (response.status === 204 || response.status === 200) return true;
  if (response.status === 404) return false;
  // Docker's answer while its own AutoRemove is removing the container.
  if (response.status === 409 && /already in progress/i.test(engineMessage(response))) return true;
  throw engineRefused(`remove container ${JSON.stringify(container)}`, response);
}

/** A container as the engine lists it. */
export interface ContainerSummary {
  id: string;
  /** Without Docker's leading `/`. */
  name: string;
  /** Docker's words, as in {@link ContainerDetails.status}. */
  status: string;
  labels: Record<string, string>;
}

/**
 * The containers, running or not, that carry every one of the `wanted` labels (`GET /containers/json?all=true` with a
 * label filter), sorted by name.
 */
export async function listContainers(
  client: EngineClient,
  wanted: Readonly<Record<string, string>> = {},
): Promise<ContainerSummary[]> {
  const filter = Object.entries(wanted).map(([key, value]) => `${key}=${value}`);
  const response = await client.request({
    method: "GET",
    path: "/containers/json",
    query: { all: true, filters: filter.length > 0 ? JSON.stringify({ label: filter }) : undefined },
  });
  if (response.status !== 200 || !Array.isArray(response.body)) {
    throw engineRefused("list containers", response);
  }
  const containers = (response.body as ListAnswer[]).map((entry) => ({
    id: text(entry.Id),
    name: (strings(entry.Names)[0] ?? "").replace(/^\//, ""),
    status: text(entry.State) === "stopped" ? "exited" : text(entry.State),
    labels: labelMap(entry.Labels),
  }));
  // An engine that ignores a filter must not widen the answer.
  return containers
    .filter((c) => Object.entries(wanted).every(([key, value]) => c.labels[key] === value))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

interface ListAnswer {
  Id?: unknown;
  Names?: unknown;
  State?: unknown;
  Labels?: unknown;
}

function checkContainerName(name: string): void {
  if (!CONTAINER_NAME.test(name)) {
    throw new InvalidNameError(
      `invalid container name or ID ${JSON.stringify(name)}: expected a letter or digit, then letters, digits, '_', '.' or '-'`,
    );
  }
}

interface InspectAnswer {
  Id?: unknown;
  Name?: unknown;
  Config?: { Image?: unknown; Env?: unknown; User?: unknown; Labels?: unknown };
  State?: { Status?: unknown; Running?: unknown; ExitCode?: unknown };
  HostConfig?: {
    Binds?: unknown;
    Memory?: unknown;
    CpuPeriod?: unknown;
    CpuQuota?: unknown;
    NetworkMode?: unknown;
  };
  NetworkSettings?: {
    IPAddress?: unknown;
    Networks?: Record<string, { IPAddress?: unknown }> | null;
    Ports?: Record<string, { HostIp?: unknown; HostPort?: unknown }[] | null> | null;
  };
}

function containerDetails(answer: InspectAnswer): ContainerDetails {
  const network = answer.NetworkSettings ?? {};
  const addresses = [network.IPAddress, ...Object.values(network.Networks ?? {}).map((n) => n.IPAddress)];
  const ports: Record<string, PublishedPort[]> = {};
  for (const [containerPort, bindings] of Object.entries(network.Ports ?? {})) {
    ports[containerPort] = (bindings ?? []).map((b) => ({
      hostIp: text(b.HostIp),
      hostPort: Number(b.HostPort),
    }));
  }
  return {
    id: text(answer.Id),
    name: text(answer.Name).replace(/^\//, ""),
    image: text(answer.Config?.Image),
    // Podman 4 reports "stopped" for a container that ended by itself; Docker (and Podman after a stop) "exited"
    status: text(answer.State?.Status) === "stopped" ? "exited" : text(answer.State?.Status),
    running: answer.State?.Running === true,
    exitCode: number(answer.State?.ExitCode),
    env: strings(answer.Config?.Env),
    user: text(answer.Config?.User),
    labels: labelMap(answer.Config?.Labels),
    binds: strings(answer.HostConfig?.Binds),
    memory: number(answer.HostConfig?.Memory),
    cpuPeriod: number(answer.HostConfig?.CpuPeriod),
    cpuQuota: number(answer.HostConfig?.CpuQuota),
    networkMode: text(answer.HostConfig?.NetworkMode),
    ipAddress: addresses.find((a): a is string => typeof a === "string" && a !== ""),
    ports,
  };
}

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function number(value: unknown): number {
  return typeof value === "number" ? value : 0;
}

function labelMap(value: unknown): Record<string, string> {
  if (typeof value !== "object" || value === null) return {};
  return Object.fromEntries(
    Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === "string"),
  );
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}
