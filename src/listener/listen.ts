import { lstat, unlink } from "node:fs/promises";
import type { Server } from "node:net";
import type { ListenSpec } from "../config/listen-spec.js";

/**
 * Binds and resolves once the socket accepts, or rejects with the bind error (CHP logged it and ran on
 * half-dead). A stale UNIX socket file from a previous run is removed first (CHP then failed with EADDRINUSE) —
 * only if it is a socket, never another kind of file.
 */
export async function listen(server: Server, spec: ListenSpec): Promise<void> {
  if (spec.kind === "unix") await removeStaleSocket(spec.path);
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => {
      server.off("listening", onListening);
      reject(error);
    };
    const onListening = () => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    if (spec.kind === "unix") server.listen(spec.path);
    else server.listen(spec.port, spec.host === "" ? undefined : spec.host);
  });
}

async function removeStaleSocket(path: string): Promise<void> {
  try {
    if ((await lstat(path)).isSocket()) await unlink(path);
  } catch {
    // Nothing there: nothing to remove.
  }
}

/** The actual port after binding (port 0 asks the kernel for one). */
export function boundPort(server: Server, spec: ListenSpec): ListenSpec {
  if (spec.kind === "unix") return spec;
  const address = server.address();
  return address && typeof address === "object" ? { ...spec, port: address.port } : spec;
}
