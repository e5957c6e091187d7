/**
 * The part of a Docker Engine API `POST /containers/create` body the driver passes on (Podman's compatible
 * API reads the same fields). The container's name is not in the body: it goes in the `?name=` query.
 */
export interface ContainerCreateBody {
  Image: string;
  Cmd?: string[];
  /** `NAME=value` entries. */
  Env?: string[];
  /** `root`, `<uid>` or `<uid>:<gid>`. */
  User?: string;
  WorkingDir?: string;
  /** `{"8888/tcp": {}}`. */
  ExposedPorts?: Record<string, Record<string, never>>;
  /** Every bind target, as keys. */
  Volumes?: Record<string, Record<string, never>>;
  Labels?: Record<string, string>;
  HostConfig?: ContainerHostConfig;
}

export interface ContainerHostConfig {
  /** `<host path or volume name>:<container path>[:ro|rw]`. */
  Binds?: string[];
  /** Bytes; 0 = no limit. */
  Memory?: number;
  /** Microseconds; the CPU limit is `CpuQuota / CpuPeriod` CPUs. */
  CpuPeriod?: number;
  CpuQuota?: number;
  /** `{"8888/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}`; an empty port lets the engine choose one. */
  PortBindings?: Record<string, PortBinding[]>;
  /** `bridge`, `none`, or Podman's `slirp4netns[:options]`. */
  NetworkMode?: string;
  Privileged?: boolean;
  /** The engine removes the container once it stops. */
  AutoRemove?: boolean;
}

export interface PortBinding {
  HostIp?: string;
  HostPort?: string;
}

/** A host config as a plan writes it: every field the spawner decides is set. */
export type PlannedHostConfig = ContainerHostConfig &
  Required<
    Pick<
      ContainerHostConfig,
      "Binds" | "Memory" | "CpuPeriod" | "PortBindings" | "NetworkMode" | "Privileged" | "AutoRemove"
    >
  >;

/** A create body as a plan writes it (a ContainerCreateBody the driver takes as it is). */
export type PlannedCreateBody = ContainerCreateBody &
  Required<Pick<ContainerCreateBody, "Cmd" | "Env" | "User" | "ExposedPorts" | "Volumes">> & {
    HostConfig: PlannedHostConfig;
  };
