import t from "tap";
import { createTestPki, startEchoBackend, type EchoReply } from "../support/echo-backend.js";
import { httpRequestTo, json, openWebSocket, startProxyUnderTest, type ProxyUnderTest } from "./harness.js";

// HTTPS upstreams (chp-compat-spec §3.11; §5.3 item 42 "internal ssl"; §6.3 #5 --insecure honoured).

const pki = createTestPki();
t.teardown(() => pki.remove());
// JupyterHub's internal_ssl: the single-user server verifies the proxy's client certificate.
const mutual = await startEchoBackend({
  path: "/backend",
  tls: { key: pki.serverKey, cert: pki.serverCert, ca: pki.caCert, requestCert: true },
});
// A server whose certificate the proxy cannot verify unless told the CA (as with a self-signed one).
const untrusted = await startEchoBackend({
  path: "/untrusted",
  tls: { key: pki.serverKey, cert: pki.serverCert },
});
t.teardown(() => mutual.close());
t.teardown(() => untrusted.close());

const { files } = pki;
const [withIdentity, caOnly, defaults, insecure] = await Promise.all([
  startProxyUnderTest(t, [
    "--client-ssl-key",
    files.clientKey,
    "--client-ssl-cert",
    files.clientCert,
    "--client-ssl-ca",
    files.caCert,
  ]),
  startProxyUnderTest(t, ["--client-ssl-ca", files.caCert]),
  startProxyUnderTest(t, []),
  startProxyUnderTest(t, ["--insecure"]),
]);
for (const proxy of [withIdentity, caOnly, defaults, insecure]) {
  await proxy.addRoute("/backend", mutual.target);
  await proxy.addRoute("/untrusted", untrusted.target);
}

const status = async (proxy: ProxyUnderTest, path: string) => (await httpRequestTo(proxy.url + path)).status;

t.test("42: --client-ssl-key/-cert/-ca reach a backend that requires a client certificate", async (t) => {
  const answer = await httpRequestTo(`${withIdentity.url}/backend/urlpath/`);
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

t.test("§6.3 #5: --insecure accepts an unverifiable upstream certificate", async (t) => {
  const answer = await httpRequestTo(`${insecure.url}/untrusted/x`);
  t.equal(answer.status, 200);
  t.equal(json<EchoReply>(answer).url, "/untrusted/x");
  const client = await openWebSocket(t, `ws://127.0.0.1:${insecure.port}/untrusted/ws`);
  t.equal(await client.next(), "connected", "for WebSockets too");
  await client.close();
});
