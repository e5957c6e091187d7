/**
 * The fields of a Docker Engine API `POST /containers/create` body that a container plan sets (Podman's
 * compatible API reads the same). The container's name goes in the `?name=` query, not in the body.
 */
export interface ContainerCreateBody {
  Image: string;
  Cmd: string[];
  /** `NAME=value` entries. */
  Env: string[];
  /** `root`, or `<uid>:<gid>`. */
  User: string;
  /** `{"8888/tcp": {}}`. */
  ExposedPorts: Record<string, EmptyObject>;
  /** Every bind target, as keys. */
  Volumes: Record<string, EmptyObject>;
  HostConfig: ContainerHostConfig;
}

export interface ContainerHostConfig {
  /** `<host path or volume name>:<container path>:<rw|ro>`. */
  Binds: string[];
  /** Bytes; 0 = no limit. */
  Memory: number;
  /** Microseconds; with `CpuQuota`, the CPU limit is `CpuQuota / CpuPeriod` CPUs. */
  CpuPeriod: number;
  /** Absent = no CPU limit. */
  CpuQuota?: number;
  /** The notebook port published on 127.0.0.1; an empty `HostPort` lets the engine choose one. */
  PortBindings: Record<string, PortBinding[]>;
  NetworkMode: string;
  Privileged: boolean;
  /** The engine removes the container when it stops. */
  AutoRemove: boolean;
}

export interface PortBinding {
  HostIp: string;
  HostPort: string;
}

export type EmptyObject = Record<string, never>;
