import { connect as netConnect, isIP, type OnReadOpts, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import type { UpstreamTarget } from "./upstream-target.js";

export interface ClientTls {
  key?: Buffer;
  cert?: Buffer;
  ca?: Buffer[];
  /** `--insecure`: accept upstream certificates that don't verify (honoured; CHP ≥ 5.1 ignores it). */
  rejectUnauthorized: boolean;
}

/**
 * Opens a connection to an upstream: TCP, TLS (with the `--client-ssl-*` identity) or a UNIX socket. `onread`
 * (caller-chosen read memory, see ReadBuffer) applies to plain sockets; a TLS socket emits `data` as usual.
 */
export function connectUpstream(target: UpstreamTarget, clientTls: ClientTls, onread?: OnReadOpts): Socket {
  if (target.socketPath) return netConnect({ path: target.socketPath, onread });
  if (!target.secure) return netConnect({ port: target.port, host: target.hostname, onread });
  return tlsConnect({
    host: target.hostname,
    port: target.port,
    servername: isIP(target.hostname) ? undefined : target.hostname,
    rejectUnauthorized: clientTls.rejectUnauthorized,
    key: clientTls.key,
    cert: clientTls.cert,
    ca: clientTls.ca,
    ALPNProtocols: ["http/1.1"],
  });
}

/** The event a fresh upstream socket emits once requests can be written. */
export function readyEvent(target: UpstreamTarget): "secureConnect" | "connect" {
  return target.secure ? "secureConnect" : "connect";
}
