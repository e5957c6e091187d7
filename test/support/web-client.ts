import { request as httpRequest, type Agent, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import type { TLSSocket } from "node:tls";

/**
 * One HTTP(S) request for tests. Without an `agent` every request makes its own connection (so every HTTPS request
 * makes its own TLS handshake and sees the certificate the server presents right now). Certificates are always
 * verified: pass the CA to trust.
 */
export interface WebRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** PEM CA certificate(s) to trust for https URLs (the system store is not used then). */
  ca?: string | string[];
  /** Request over this UNIX socket; the URL then only supplies the path. */
  socketPath?: string;
  /** Reuse connections through this agent (default: a fresh connection). */
  agent?: Agent;
  /** A request still unanswered after this long fails instead of hanging the suite (default 10 s). */
  timeoutMs?: number;
}

export interface WebResponse {
  status: number;
  statusMessage: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** SHA-256 fingerprint of the server certificate (https on a new connection only). */
  peerFingerprint?: string;
}

export function webRequest(url: string, options: WebRequest = {}): Promise<WebResponse> {
  const parsed = new URL(url);
  const secure = parsed.protocol === "https:";
  const method = options.method ?? "GET";
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const req = (secure ? httpsRequest : httpRequest)({
      method,
      hostname: parsed.hostname,
      port: parsed.port,
      path: parsed.pathname + parsed.search,
      headers: options.headers,
      socketPath: options.socketPath,
      agent: options.agent ?? false,
      ...(secure ? { ca: options.ca } : {}),
    });
    let peerFingerprint: string | undefined;
    req.on("socket", (socket) => {
      if (secure)
        socket.once("secureConnect", () => {
          peerFingerprint = (socket as TLSSocket).getPeerCertificate().fingerprint256;
        });
    });
    req.setTimeout(timeoutMs, () =>
      req.destroy(new Error(`no answer to ${method} ${url} within ${timeoutMs} ms`)),
    );
    req.on("error", reject);
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () => {
        const response: WebResponse = {
          status: res.statusCode ?? 0,
          statusMessage: res.statusMessage ?? "",
          headers: res.headers,
          body: Buffer.concat(chunks).toString("utf8"),
        };
        if (peerFingerprint !== undefined) response.peerFingerprint = peerFingerprint;
        resolve(response);
      });
    });
    req.end(options.body);
  });
}

/** The JSON body of a response (e.g. an echo backend's reply). */
export function json<T>(response: WebResponse): T {
  return JSON.parse(response.body) as T;
}
