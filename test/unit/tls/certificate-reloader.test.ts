import t, { type Test } from "tap";
import { X509Certificate } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { pino } from "pino";
import { ensureSelfSignedCertificate, type SelfSignedCertificate } from "../../../src/tls/self-signed.js";
import type { TlsFiles } from "../../../src/config/config.js";
import { buildTlsOptions } from "../../../src/tls/tls-options.js";
import { CertificateReloader, describeCertificate } from "../../../src/tls/certificate-reloader.js";
import { ProxyMetrics } from "../../../src/metrics/metrics.js";
import type { Logger } from "../../../src/log/logger.js";
import { fingerprintOf, getOver, openTls, startHttpsServer } from "../../support/tls-client.js";
import { sleep, waitUntil } from "../../support/wait.js";

interface Line {
  level: number;
  msg: string;
}

function captureLogger(): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => lines.push(JSON.parse(line) as Line) });
  return { logger, lines };
}

const fingerprint = (path: string) => new X509Certificate(readFileSync(path)).fingerprint256;

/** Polls until `check` holds; the generous limit only bounds a broken run. */
const eventually = (check: () => boolean, what: string) => waitUntil(check, what, 15000, 25);

const root = t.testdir();
// Two server certificates (different names) from one CA: what a renewal looks like.
let first: { cert: string; key: string; fingerprint: string };
let second: { cert: string; key: string; fingerprint: string };
let ca: Buffer;

function keep(pair: SelfSignedCertificate, name: string) {
  const cert = `${root}/${name}-cert.pem`;
  const key = `${root}/${name}-key.pem`;
  copyFileSync(pair.certPath, cert);
  copyFileSync(pair.keyPath, key);
  return { cert, key, fingerprint: fingerprint(cert) };
}

t.before(async () => {
  const dir = `${root}/generator`;
  first = keep(await ensureSelfSignedCertificate({ dir, hostnames: ["first.example"] }), "first");
  second = keep(await ensureSelfSignedCertificate({ dir, hostnames: ["second.example"] }), "second");
  ca = readFileSync(`${dir}/ca.pem`);
});

/** A live folder holding copies of `first`, an https server using it, and a reloader watching it. */
async function setup(t: Test, name: string, watch: boolean) {
  const live = `${root}/${name}`;
  mkdirSync(live);
  copyFileSync(first.cert, `${live}/cert.pem`);
  copyFileSync(first.key, `${live}/key.pem`);
  const files: TlsFiles = { cert: `${live}/cert.pem`, key: `${live}/key.pem` };
  const initial = buildTlsOptions(files);
  const { server, port } = await startHttpsServer(initial);
  const { logger, lines } = captureLogger();
  const metrics = new ProxyMetrics({ defaultMetrics: false });
  const reloader = new CertificateReloader({
    server,
    files,
    initial,
    logger,
    watch,
    debounceMs: 50,
  });
  t.teardown(() => {
    metrics.close();
    reloader.close();
    server.closeAllConnections();
    server.close();
  });
  return { live, server, port, reloader, lines, metrics };
}

t.test("logs the certificate and exports its expiry at start", async (t) => {
  const { reloader, lines, metrics } = await setup(t, "start", false);
  const info = describeCertificate(readFileSync(first.cert));
  t.ok(info);
  t.equal(reloader.certificate?.fingerprint256, first.fingerprint);
  const expiry = (await metrics.certificateExpiry.get()).values[0]?.value;
  t.equal(expiry, Math.floor((info?.validTo.getTime() ?? 0) / 1000));
  t.match(lines[0], {
    level: 30,
    msg: /^TLS certificate CN=first\.example issued by .*, valid until .* \(\d+ days\), SHA-256 /,
  });
});

t.test("reload() serves the new certificate to new connections; open ones carry on", async (t) => {
  const { live, port, reloader, lines, metrics } = await setup(t, "manual", false);
  const before = await openTls(port, { ca });
  t.teardown(() => before.destroy());
  t.equal(fingerprintOf(before), first.fingerprint);
  t.equal(await getOver(before, "/one"), "ok /one");

  t.equal(reloader.reload("SIGHUP").status, "unchanged", "same files: nothing to do");

  copyFileSync(second.cert, `${live}/cert.pem`);
  copyFileSync(second.key, `${live}/key.pem`);
  const result = reloader.reload("SIGHUP");
  t.equal(result.status, "reloaded");
  t.equal(result.certificate?.fingerprint256, second.fingerprint);
  t.match(lines.at(-1), { level: 30, msg: /^Reloaded TLS certificate \(SIGHUP\): CN=second\.example/ });
  const expiry = (await metrics.certificateExpiry.get()).values[0]?.value;
  t.equal(
    expiry,
    Math.floor(new Date(new X509Certificate(readFileSync(second.cert)).validTo).getTime() / 1000),
  );

  const after = await openTls(port, { ca });
  t.teardown(() => after.destroy());
  t.equal(fingerprintOf(after), second.fingerprint, "new connection sees the new certificate");
  t.equal(await getOver(before, "/two"), "ok /two", "the connection opened before still works");
  t.equal(fingerprintOf(before), first.fingerprint, "and still has the old certificate");
});

t.test("a failed reload keeps the current certificate and logs an error", async (t) => {
  const { live, port, reloader, lines } = await setup(t, "broken", false);
  copyFileSync(second.cert, `${live}/cert.pem`); // key still the first one: mismatch
  const mismatch = reloader.reload("SIGHUP");
  t.equal(mismatch.status, "failed");
  t.match(mismatch.error, /does not match the certificate/);
  t.match(lines.at(-1), {
    level: 50,
    msg: /^TLS certificate reload failed \(SIGHUP\); keeping the current certificate: --ssl-key .* does not match/,
  });
  writeFileSync(`${live}/cert.pem`, "half-written");
  t.equal(reloader.reload().status, "failed");
  const socket = await openTls(port, { ca });
  t.equal(fingerprintOf(socket), first.fingerprint, "still the old certificate");
  socket.destroy();
  t.equal(reloader.certificate?.fingerprint256, first.fingerprint);

  copyFileSync(second.key, `${live}/key.pem`);
  copyFileSync(second.cert, `${live}/cert.pem`);
  t.equal(reloader.reload().status, "reloaded", "recovers once the files are whole");
});

t.test("reloads by itself when the files are overwritten in place", async (t) => {
  const { live, port, reloader } = await setup(t, "overwrite", true);
  writeFileSync(`${live}/key.pem`, readFileSync(second.key));
  writeFileSync(`${live}/cert.pem`, readFileSync(second.cert));
  await eventually(() => reloader.certificate?.fingerprint256 === second.fingerprint, "watcher reload");
  const socket = await openTls(port, { ca });
  t.equal(fingerprintOf(socket), second.fingerprint);
  socket.destroy();
});

t.test("reloads by itself when new files are renamed over the old ones", async (t) => {
  const { live, reloader } = await setup(t, "rename", true);
  copyFileSync(second.key, `${live}/.key.tmp`);
  copyFileSync(second.cert, `${live}/.cert.tmp`);
  renameSync(`${live}/.key.tmp`, `${live}/key.pem`);
  renameSync(`${live}/.cert.tmp`, `${live}/cert.pem`);
  await eventually(() => reloader.certificate?.fingerprint256 === second.fingerprint, "watcher reload");
  t.pass("reloaded after rename");
});

t.test("follows a Let's Encrypt renewal: live/ symlinks re-pointed into archive/", async (t) => {
  const site = `${root}/letsencrypt`;
  mkdirSync(`${site}/archive`, { recursive: true });
  mkdirSync(`${site}/live`);
  copyFileSync(first.cert, `${site}/archive/fullchain1.pem`);
  copyFileSync(first.key, `${site}/archive/privkey1.pem`);
  symlinkSync("../archive/fullchain1.pem", `${site}/live/fullchain.pem`);
  symlinkSync("../archive/privkey1.pem", `${site}/live/privkey.pem`);
  const files: TlsFiles = { cert: `${site}/live/fullchain.pem`, key: `${site}/live/privkey.pem` };
  const initial = buildTlsOptions(files);
  const { server, port } = await startHttpsServer(initial);
  const { logger } = captureLogger();
  const reloader = new CertificateReloader({ server, files, initial, logger, debounceMs: 50 });
  t.teardown(() => {
    reloader.close();
    server.close();
  });

  // certbot's order: new archive files, then each live link replaced atomically.
  copyFileSync(second.cert, `${site}/archive/fullchain2.pem`);
  copyFileSync(second.key, `${site}/archive/privkey2.pem`);
  for (const [link, target] of [
    ["privkey.pem", "privkey2.pem"],
    ["fullchain.pem", "fullchain2.pem"],
  ] as const) {
    symlinkSync(`../archive/${target}`, `${site}/live/.${link}.new`);
    renameSync(`${site}/live/.${link}.new`, `${site}/live/${link}`);
  }
  await eventually(() => reloader.certificate?.fingerprint256 === second.fingerprint, "watcher reload");
  const socket = await openTls(port, { ca });
  t.equal(fingerprintOf(socket), second.fingerprint);
  socket.destroy();

  // A later in-place change of the link target shows up through the archive folder watch.
  writeFileSync(`${site}/archive/privkey2.pem`, readFileSync(first.key));
  writeFileSync(`${site}/archive/fullchain2.pem`, readFileSync(first.cert));
  await eventually(
    () => reloader.certificate?.fingerprint256 === first.fingerprint,
    "reload via link target",
  );
});

t.test("close() stops watching", async (t) => {
  const { live, reloader } = await setup(t, "closed", true);
  reloader.close();
  copyFileSync(second.key, `${live}/key.pem`);
  copyFileSync(second.cert, `${live}/cert.pem`);
  await sleep(300);
  t.equal(reloader.certificate?.fingerprint256, first.fingerprint);
});

t.test("describeCertificate returns undefined for garbage", async (t) => {
  t.equal(describeCertificate("nope"), undefined);
});
