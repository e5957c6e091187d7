import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import type { TLSSocket } from "node:tls";

/**
 * One HTTP(S) request on a fresh connection (no agent, so every HTTPS request makes its own TLS handshake and sees
 * the certificate the server presents right now). Certificate checks stay on: pass the CA to trust.
 */
export interface WebRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** PEM CA certificate(s) to trust for https URLs (the system store is not used then). */
  ca?: string | string[];
}

export interface WebResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** SHA-256 fingerprint of the server certificate (https only). */
  peerFingerprint?: string;
}

export function webRequest(url: string, options: WebRequest = {}): Promise<WebResponse> {
  const secure = url.startsWith("https:");
  return new Promise((resolve, reject) => {
    const common = { method: options.method ?? "GET", headers: options.headers, agent: false as const };
    const req = secure ? httpsRequest(url, { ...common, ca: options.ca }) : httpRequest(url, common);
    let peerFingerprint: string | undefined;
    req.on("socket", (socket) => {
      if (secure)
        socket.once("secureConnect", () => {
          peerFingerprint = (socket as TLSSocket).getPeerCertificate().fingerprint256;
        });
    });
    req.on("error", reject);
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () => {
        const response: WebResponse = {
          status: res.statusCode ?? 0,
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
