import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  symlinkSync,
} from "node:fs";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import t, { type Test } from "tap";
import WebSocket from "ws";
import { CertificateAuthority, fingerprintOfFile, type IssuedCertificate } from "../support/certificates.js";
import {
  startEchoBackend,
  type EchoBackend,
  type EchoMessage,
  type EchoReply,
} from "../support/echo-backend.js";
import { freePort } from "../support/ports.js";
import { sslArgs, startLoopbackProxy } from "../support/loopback-proxy.js";
import { webRequest } from "../support/web-client.js";
import { fingerprintOf, openTls } from "../support/tls-client.js";

/**
 * HTTPS through the real binary: a generated certificate, given certificate files and chains, certificates
 * swapped under a running proxy (SIGHUP and file watching) without dropping open WebSockets, and the
 * HTTP→HTTPS redirect listener.
 */

async function echoBackend(t: Test): Promise<EchoBackend> {
  const backend = await startEchoBackend();
  t.teardown(() => backend.close());
  return backend;
}

/** The certificate a brand-new TLS connection to `port` gets, verified against `ca`. */
async function presentedFingerprint(port: number, ca: string): Promise<string> {
  const socket = await openTls(port, { ca: Buffer.from(ca) });
  const fingerprint = fingerprintOf(socket);
  socket.destroy();
  return fingerprint;
}

interface OpenWebSocket {
  socket: WebSocket;
  /** The TLS connection under it, to tell which certificate it was opened with. */
  tls: TLSSocket;
  /** Sends `text` and resolves with the backend's echo of it. */
  echo(text: string): Promise<string>;
}

async function openWebSocket(url: string, ca: string): Promise<OpenWebSocket> {
  const socket = new WebSocket(url, { ca });
  let tls: TLSSocket | undefined;
  socket.once("upgrade", (response) => {
    tls = response.socket as TLSSocket;
  });
  // The echo backend greets every connection with "connected".
  await new Promise<void>((resolve, reject) => {
    socket.once("message", (data) =>
      String(data) === "connected" ? resolve() : reject(new Error(`unexpected greeting ${String(data)}`)),
    );
    socket.once("error", reject);
  });
  if (!tls) throw new Error("no upgrade response");
  const echo = (text: string) =>
    new Promise<string>((resolve, reject) => {
      const onClose = () => reject(new Error("WebSocket closed"));
      socket.once("close", onClose);
      socket.once("message", (data) => {
        socket.off("close", onClose);
        resolve((JSON.parse(String(data)) as EchoMessage).message);
      });
      socket.send(text);
    });
  return { socket, tls, echo };
}

t.test("--ssl-self-signed: a generated CA and certificate in the data dir", async (t) => {
  const backend = await echoBackend(t);
  const dir = t.testdir();
  const dataDir = join(dir, "state");
  const proxy = await startLoopbackProxy(t, ["--ssl-self-signed", "--default-target", backend.target], {
    dataDir,
  });
  const tls = join(dataDir, "tls");
  for (const file of ["ca.pem", "cert.pem", "key.pem"])
    t.ok(existsSync(join(tls, file)), `${file} written to <data-dir>/tls`);
  t.equal(statSync(join(tls, "key.pem")).mode & 0o077, 0, "the private key is readable by the owner only");
  t.match(
    proxy.process.stdout(),
    `Proxying https://127.0.0.1:${proxy.port} to ${backend.target}`,
    "readiness line names https",
  );

  const ca = readFileSync(join(tls, "ca.pem"), "utf8");
  const url = `https://127.0.0.1:${proxy.port}/some/path?x=1`;
  const trusted = await webRequest(url, { ca });
  t.equal(trusted.status, 200, "a client trusting ca.pem reaches the backend through the proxy");
  const reply = JSON.parse(trusted.body) as EchoReply;
  t.equal(reply.url, "/some/path?x=1", "the backend got the request");
  t.equal(reply.headers["x-forwarded-proto"], "https", "X-Forwarded-Proto says https");
  t.equal(trusted.peerFingerprint, fingerprintOfFile(join(tls, "cert.pem")), "the proxy presents cert.pem");

  const otherCa = CertificateAuthority.root(dir, "unrelated-ca").pem;
  await t.rejects(
    webRequest(url),
    { code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" },
    "a client without the CA is refused",
  );
  await t.rejects(
    webRequest(url, { ca: otherCa }),
    { code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" },
    "a client trusting another CA is refused",
  );

  const wss = await openWebSocket(`wss://127.0.0.1:${proxy.port}/ws`, ca);
  t.equal(await wss.echo("hello"), "hello", "WebSockets work over wss:// with the generated certificate");
  wss.socket.terminate();

  await proxy.restart();
  t.equal(
    await presentedFingerprint(proxy.port, ca),
    trusted.peerFingerprint,
    "a restart keeps the certificate that clients already trust",
  );
});

t.test("--ssl-cert/--ssl-key, and --ssl-chain for an intermediate CA", async (t) => {
  const backend = await echoBackend(t);
  const dir = t.testdir();
  const root = CertificateAuthority.root(dir, "root-ca");
  const direct = root.server("direct");
  const intermediate = root.intermediate("intermediate-ca");
  const leaf = intermediate.server("leaf");

  const serving = (certificate: IssuedCertificate, extra: string[] = []) =>
    startLoopbackProxy(t, [...sslArgs(certificate), ...extra, "--default-target", backend.target]);
  const plain = await serving(direct);
  const response = await webRequest(`https://127.0.0.1:${plain.port}/a`, { ca: root.pem });
  t.equal(response.status, 200, "HTTPS with the given certificate");
  t.equal(response.peerFingerprint, direct.fingerprint256, "the given certificate is presented");
  t.equal((JSON.parse(response.body) as EchoReply).url, "/a", "proxied to the backend");

  const withoutChain = await serving(leaf);
  await t.rejects(
    webRequest(`https://127.0.0.1:${withoutChain.port}/`, { ca: root.pem }),
    { code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" },
    "without the chain a client trusting only the root cannot verify the leaf",
  );

  const chained = await serving(leaf, ["--ssl-chain", intermediate.cert]);
  const viaChain = await webRequest(`https://127.0.0.1:${chained.port}/b`, { ca: root.pem });
  t.equal(viaChain.status, 200, "with --ssl-chain a client trusting only the root CA gets through");
  t.equal(viaChain.peerFingerprint, leaf.fingerprint256, "the leaf certificate is presented");
  const socket = await openTls(chained.port, { ca: Buffer.from(root.pem) });
  t.equal(
    socket.getPeerCertificate(true).issuerCertificate.fingerprint256,
    fingerprintOfFile(intermediate.cert),
    "the intermediate certificate is sent after the leaf",
  );
  socket.destroy();
});

/** Certificates A and B from one CA, and a proxy serving A, with a WebSocket open through it. */
async function swapSetup(
  t: Test,
  layout: (dir: string, a: IssuedCertificate, b: IssuedCertificate) => { cert: string; key: string },
) {
  const backend = await echoBackend(t);
  const dir = t.testdir();
  const ca = CertificateAuthority.root(dir, "swap-ca");
  const a = ca.server("cert-a");
  const b = ca.server("cert-b");
  const files = layout(dir, a, b);
  const proxy = await startLoopbackProxy(t, [...sslArgs(files), "--default-target", backend.target]);
  t.equal(await presentedFingerprint(proxy.port, ca.pem), a.fingerprint256, "certificate A served at start");
  const wss = await openWebSocket(`wss://127.0.0.1:${proxy.port}/live`, ca.pem);
  t.equal(await wss.echo("before"), "before", "WebSocket open through the proxy");
  t.teardown(() => wss.socket.terminate());
  return { dir, proxy, ca, a, b, wss };
}

/** After a swap: new connections get B, the WebSocket opened before it still talks over A. */
async function checkSwapped(t: Test, setup: Awaited<ReturnType<typeof swapSetup>>): Promise<void> {
  const { proxy, ca, a, b, wss } = setup;
  t.equal(await presentedFingerprint(proxy.port, ca.pem), b.fingerprint256, "new TLS connections present B");
  const response = await webRequest(`https://127.0.0.1:${proxy.port}/after`, { ca: ca.pem });
  t.equal(response.status, 200, "HTTPS through the proxy works after the swap");
  t.equal(response.peerFingerprint, b.fingerprint256, "…with certificate B");
  t.equal(wss.socket.readyState, WebSocket.OPEN, "the WebSocket opened before the swap is still open");
  t.equal(wss.tls.getPeerCertificate().fingerprint256, a.fingerprint256, "…on its connection made with A");
  t.equal(await wss.echo("after"), "after", "…and still echoes messages");
}

t.test("certificate swap picked up on SIGHUP; open WebSockets stay", async (t) => {
  // A release-style layout: live/*.pem link into `current`, a link to a versioned folder. Flipping `current`
  // changes nothing in the folders the proxy watches, so only SIGHUP (systemctl reload) can pick it up.
  const setup = await swapSetup(t, (dir, a, b) => {
    for (const [folder, certificate] of [
      ["a", a],
      ["b", b],
    ] as const) {
      mkdirSync(join(dir, folder));
      copyFileSync(certificate.cert, join(dir, folder, "cert.pem"));
      copyFileSync(certificate.key, join(dir, folder, "key.pem"));
    }
    symlinkSync("a", join(dir, "current"));
    mkdirSync(join(dir, "live"));
    symlinkSync("../current/cert.pem", join(dir, "live", "cert.pem"));
    symlinkSync("../current/key.pem", join(dir, "live", "key.pem"));
    return { cert: join(dir, "live", "cert.pem"), key: join(dir, "live", "key.pem") };
  });
  symlinkSync("b", join(setup.dir, "current.next"));
  renameSync(join(setup.dir, "current.next"), join(setup.dir, "current"));
  setup.proxy.process.child.kill("SIGHUP");
  await setup.proxy.process.waitFor(/Reloaded TLS certificate \(SIGHUP\): CN=cert-b/);
  t.equal(setup.proxy.process.child.exitCode, null, "SIGHUP does not stop the proxy");
  await checkSwapped(t, setup);
});

t.test("certificate swap picked up when new files are renamed over the old ones", async (t) => {
  const setup = await swapSetup(t, (dir, a) => {
    mkdirSync(join(dir, "tls"));
    copyFileSync(a.cert, join(dir, "tls", "cert.pem"));
    copyFileSync(a.key, join(dir, "tls", "key.pem"));
    return { cert: join(dir, "tls", "cert.pem"), key: join(dir, "tls", "key.pem") };
  });
  const folder = join(setup.dir, "tls");
  copyFileSync(setup.b.cert, join(folder, "cert.pem.new"));
  copyFileSync(setup.b.key, join(folder, "key.pem.new"));
  renameSync(join(folder, "key.pem.new"), join(folder, "key.pem"));
  renameSync(join(folder, "cert.pem.new"), join(folder, "cert.pem"));
  await setup.proxy.process.waitFor(/Reloaded TLS certificate \(certificate files changed\): CN=cert-b/);
  await checkSwapped(t, setup);
});

t.test("--redirect-port answers plain HTTP with a 301 to HTTPS", async (t) => {
  const backend = await echoBackend(t);
  const ca = CertificateAuthority.root(t.testdir(), "redirect-ca");
  const server = ca.server("server");
  const tlsArgs = [...sslArgs(server), "--default-target", backend.target];
  const ready = /Added HTTP to HTTPS redirection from \d+ to \d+/;
  /** A proxy redirecting from a free port (`extra` e.g. `--redirect-to`); resolves with that port and the proxy. */
  const redirecting = async (extra: string[] = []) => {
    const redirectPort = await freePort();
    const proxy = await startLoopbackProxy(
      t,
      [...tlsArgs, "--redirect-port", String(redirectPort), ...extra],
      {
        ready,
      },
    );
    return { proxy, redirectPort };
  };

  const { proxy, redirectPort } = await redirecting();
  const toProxyPort = await webRequest(`http://127.0.0.1:${redirectPort}/hub/login?next=%2Fhub%2F`, {
    headers: { host: `hub.example.org:${redirectPort}` },
  });
  t.equal(toProxyPort.status, 301, "301 Moved Permanently");
  t.equal(
    toProxyPort.headers.location,
    `https://hub.example.org:${proxy.port}/hub/login?next=%2Fhub%2F`,
    "to the HTTPS port of the proxy, path and query kept",
  );

  const redirectPort443 = (await redirecting(["--redirect-to", "443"])).redirectPort;
  const to443 = await webRequest(`http://127.0.0.1:${redirectPort443}/user/alice/lab`, {
    headers: { host: "hub.example.org" },
  });
  t.equal(to443.status, 301, "301 with --redirect-to 443");
  t.equal(to443.headers.location, "https://hub.example.org/user/alice/lab", "port 443 left out of Location");

  const redirectPort8443 = (await redirecting(["--redirect-to", "8443"])).redirectPort;
  const to8443 = await webRequest(`http://127.0.0.1:${redirectPort8443}/`, {
    headers: { host: "hub.example.org" },
  });
  t.equal(to8443.headers.location, "https://hub.example.org:8443/", "another --redirect-to port is written");
  t.equal(backend.requests.length, 0, "redirected requests never reach the backend");
});
