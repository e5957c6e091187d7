import { readFileSync } from "node:fs";
import t from "tap";
import { CertificateAuthority } from "../support/certificates.js";
import { startEchoBackend, type EchoReply } from "../support/echo-backend.js";
import type { LoopbackProxy } from "../support/loopback-proxy.js";
import { tempDir } from "../support/temp-dir.js";
import { json, webRequest } from "../support/web-client.js";
import { openWebSocket } from "../support/websocket-client.js";
import { startProxyUnderTest } from "./harness.js";

// HTTPS upstreams.

const ca = CertificateAuthority.root(tempDir(t), "upstream-ca");
const server = ca.server("server");
const client = ca.client("proxy-client");
const serverTls = { key: readFileSync(server.key, "utf8"), cert: readFileSync(server.cert, "utf8") };
// JupyterHub's internal_ssl: the single-user server verifies the proxy's client certificate.
const mutual = await startEchoBackend({
  path: "/backend",
  tls: { ...serverTls, ca: ca.pem, requestCert: true },
});
// A server whose certificate the proxy cannot verify unless told the CA (as with a self-signed one).
const untrusted = await startEchoBackend({ path: "/untrusted", tls: serverTls });
t.teardown(() => mutual.close());
t.teardown(() => untrusted.close());

const routes = { "/backend": mutual.target, "/untrusted": untrusted.target };
const [withIdentity, caOnly, defaults, insecure] = await Promise.all(
  [
    ["--client-ssl-key", client.key, "--client-ssl-cert", client.cert, "--client-ssl-ca", ca.cert],
    ["--client-ssl-ca", ca.cert],
    [],
    ["--insecure"],
  ].map((args) => startProxyUnderTest(t, args, { routes })),
);

const status = async (proxy: LoopbackProxy, path: string) => (await webRequest(proxy.url + path)).status;

t.test("42: --client-ssl-key/-cert/-ca reach a backend that requires a client certificate", async (t) => {
  const answer = await webRequest(`${withIdentity.url}/backend/urlpath/`);
  t.equal(answer.status, 200);
  const reply = json<EchoReply>(answer);
  t.equal(reply.url, "/backend/urlpath/");
  t.match(mutual.target, /^https:/);
  const client = await openWebSocket(t, `ws://127.0.0.1:${withIdentity.port}/backend/ws`);
  t.equal(await client.next(), "connected", "WebSockets use the client identity too");
  await client.close();
});

t.test("without the client certificate the same backend is unavailable (503)", async (t) => {
  t.equal(await status(caOnly, "/backend/urlpath/"), 503);
  t.equal(await status(caOnly, "/untrusted/x"), 200, "the CA alone verifies the server");
});

t.test("an unverifiable upstream certificate is refused by default (503)", async (t) => {
  t.equal(await status(defaults, "/untrusted/x"), 503);
});

t.test("--insecure accepts an unverifiable upstream certificate", async (t) => {
  const answer = await webRequest(`${insecure.url}/untrusted/x`);
  t.equal(answer.status, 200);
  t.equal(json<EchoReply>(answer).url, "/untrusted/x");
  const client = await openWebSocket(t, `ws://127.0.0.1:${insecure.port}/untrusted/ws`);
  t.equal(await client.next(), "connected", "for WebSockets too");
  await client.close();
});
