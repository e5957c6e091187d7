/** Where a server listens: a TCP port on a host (empty = all interfaces) or a UNIX socket. */
export type ListenSpec = { kind: "tcp"; host: string; port: number } | { kind: "unix"; path: string };

export function describeListen(spec: ListenSpec, scheme: string): string {
  if (spec.kind === "unix") return `${scheme}+unix://${encodeURIComponent(spec.path)}`;
  const host = spec.host === "" ? "*" : spec.host.includes(":") ? `[${spec.host}]` : spec.host;
  return `${scheme}://${host}:${spec.port}`;
}
