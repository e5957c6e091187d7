import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { listen } from "./listen.js";
import type { Logger } from "../log/logger.js";
import { ConfigError } from "../config/config-error.js";

export interface RedirectServerOptions {
  /** `--redirect-port`: the plain-HTTP port to listen on. */
  port: number;
  /** Bind address; all interfaces when empty or absent (as CHP does). */
  ip?: string;
  /** `--redirect-to`, else the HTTPS proxy port: the port written into `Location`. */
  redirectTo: number | string;
  logger?: Logger;
}

export type RedirectDecision = { status: 301; location: string } | { status: 400; body: string };

/** Port numbers arrive as strings from commander (CHP keeps them so); anything else is a configuration error. */
export function parseRedirectPort(value: number | string): number {
  const port = typeof value === "number" ? value : /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigError(`--redirect-to ${JSON.stringify(String(value))}: expected a port number (1-65535)`);
  }
  return port;
}

const HOST_NAME = /^[A-Za-z0-9_]([A-Za-z0-9_.-]*)$/;
const IPV6_LITERAL = /^\[[0-9A-Fa-f:.]+\]$/;

/** The Host header's host part (port removed, IPv6 brackets kept), or undefined when it is not a plain host. */
function hostWithoutPort(header: string): string | undefined {
  const value = header.trim();
  const bracket = /^(\[[^\]]*\])(?::\d*)?$/.exec(value);
  if (bracket) return IPV6_LITERAL.test(bracket[1] ?? "") ? bracket[1] : undefined;
  const host = value.replace(/:\d*$/, "");
  return HOST_NAME.test(host) ? host : undefined;
}

/** Origin-form path of the request; absolute-form targets (`GET http://h/p`) keep only their path. */
function requestPath(url: string | undefined): string {
  if (!url) return "/";
  if (url.startsWith("/")) return url;
  try {
    const parsed = new URL(url);
    return `${parsed.pathname}${parsed.search}`;
  } catch {
    return "/";
  }
}

/**
 * CHP's redirect (bin 365–393): 301 to `https://<Host without port>[:<port>]<url>`, or 400 with CHP's text when the
 * host is unknown. Unlike CHP the port is left out for 443 also when it was given as a string (`--redirect-to=443`),
 * and a Host that is not a host name is refused rather than copied into `Location`.
 */
export function decideRedirect(
  hostHeader: string | undefined,
  url: string | undefined,
  redirectTo: number,
): RedirectDecision {
  if (hostHeader === undefined || hostHeader.trim() === "") {
    return {
      status: 400,
      body:
        `This server is HTTPS-only on port ${redirectTo}, but an HTTP request was made and the host could not be` +
        ` determined from the request.`,
    };
  }
  const host = hostWithoutPort(hostHeader);
  if (host === undefined) return { status: 400, body: "Bad Host header" };
  const port = redirectTo === 443 ? "" : `:${redirectTo}`;
  return { status: 301, location: `https://${host}${port}${requestPath(url)}` };
}

/**
 * Starts the HTTP→HTTPS redirect listener and resolves once it is bound (rejects on EADDRINUSE / EACCES), logging
 * CHP's readiness line `Added HTTP to HTTPS redirection from <port> to <redirectTo>`.
 */
export async function startRedirectServer(options: RedirectServerOptions): Promise<Server> {
  const redirectTo = parseRedirectPort(options.redirectTo);
  // HTTP/1.1 requests without Host must reach the handler to get CHP's 400 text instead of Node's bare 400.
  const server = createServer({ requireHostHeader: false }, (req, res) => {
    const decision = decideRedirect(req.headers.host, req.url, redirectTo);
    if (decision.status === 301) {
      res.writeHead(301, { Location: decision.location });
      res.end();
    } else {
      res.writeHead(400, {
        "Content-Type": "text/plain; charset=utf-8",
        "Content-Length": Buffer.byteLength(decision.body),
      });
      res.end(decision.body);
    }
  });
  await listen(server, { kind: "tcp", host: options.ip ?? "", port: options.port });
  server.on("error", (error) => options.logger?.error(`HTTP redirect server: ${error.message}`));
  const port = (server.address() as AddressInfo).port;
  options.logger?.info(`Added HTTP to HTTPS redirection from ${port} to ${redirectTo}`);
  return server;
}
