import t from "tap";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import { get } from "node:https";
import { ensureSelfSignedCertificate } from "../../../src/tls/self-signed.js";
import { buildTlsOptions } from "../../../src/tls/tls-options.js";
import { ConfigError } from "../../../src/config/config-error.js";
import { fingerprintOf, openTls, startHttpsServer } from "../../support/tls-client.js";

const DAY = 24 * 60 * 60 * 1000;

function httpsGet(port: number, ca: Buffer | undefined): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get({ host: "127.0.0.1", port, path: "/hello", servername: "localhost", ca }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
  });
}

t.test("generates a CA and a server certificate that a client trusting the CA accepts", async (t) => {
  const dir = `${t.testdir()}/tls`;
  const generated = await ensureSelfSignedCertificate({ dir, hostnames: ["proxy.example", "10.1.2.3"] });
  t.equal(generated.generated, true);
  t.same(generated.names, ["localhost", "127.0.0.1", "::1", "proxy.example", "10.1.2.3"]);
  t.equal(statSync(generated.keyPath).mode & 0o777, 0o600, "server key is private");
  t.equal(statSync(generated.caKeyPath).mode & 0o777, 0o600, "CA key is private");
  t.equal(statSync(dir).mode & 0o777, 0o700, "folder is private");

  const cert = new X509Certificate(readFileSync(generated.certPath));
  const ca = new X509Certificate(readFileSync(generated.caCertPath));
  t.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey), "server certificate is signed by the CA");
  t.equal(ca.ca, true);
  t.equal(cert.ca, false);
  for (const host of ["localhost", "proxy.example"]) t.equal(cert.checkHost(host), host);
  for (const ip of ["127.0.0.1", "::1", "10.1.2.3"]) t.equal(cert.checkIP(ip), ip);
  t.equal(cert.checkHost("other.example"), undefined);
  t.equal(cert.publicKey.asymmetricKeyDetails?.modulusLength, 2048);

  const { server, port } = await startHttpsServer(
    buildTlsOptions({ cert: generated.certPath, key: generated.keyPath }),
  );
  t.teardown(() => server.close());
  const caPem = readFileSync(generated.caCertPath);
  t.same(await httpsGet(port, caPem), { status: 200, body: "ok /hello" });
  await t.rejects(
    httpsGet(port, undefined),
    { code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" },
    "untrusted without the CA",
  );

  const socket = await openTls(port, { ca: caPem });
  t.equal(fingerprintOf(socket), cert.fingerprint256, "the server presents the generated certificate");
  socket.destroy();
});

t.test("reuses valid files on the next start", async (t) => {
  const dir = t.testdir();
  const first = await ensureSelfSignedCertificate({ dir });
  const before = readFileSync(first.certPath, "utf8");
  const second = await ensureSelfSignedCertificate({ dir });
  t.equal(second.generated, false);
  t.equal(readFileSync(second.certPath, "utf8"), before);
});

t.test("replaces the server certificate but keeps the CA when new names are asked for", async (t) => {
  const dir = t.testdir();
  const first = await ensureSelfSignedCertificate({ dir });
  const ca = readFileSync(first.caCertPath, "utf8");
  const cert = readFileSync(first.certPath, "utf8");
  const second = await ensureSelfSignedCertificate({ dir, hostnames: ["hub.example"] });
  t.equal(second.generated, true);
  t.equal(readFileSync(second.caCertPath, "utf8"), ca, "CA kept");
  t.not(readFileSync(second.certPath, "utf8"), cert, "server certificate replaced");
  t.equal(new X509Certificate(readFileSync(second.certPath)).checkHost("hub.example"), "hub.example");
});

t.test("renews an expired or nearly expired certificate", async (t) => {
  const dir = t.testdir();
  const longAgo = new Date(Date.now() - 380 * DAY);
  const old = await ensureSelfSignedCertificate({ dir, now: longAgo });
  const oldCert = new X509Certificate(readFileSync(old.certPath));
  t.ok(new Date(oldCert.validTo).getTime() - Date.now() < 30 * DAY, "the old one expires within 30 days");

  const renewed = await ensureSelfSignedCertificate({ dir });
  t.equal(renewed.generated, true);
  const cert = new X509Certificate(readFileSync(renewed.certPath));
  t.ok(new Date(cert.validTo).getTime() > Date.now() + 300 * DAY);
  t.ok(new Date(cert.validFrom).getTime() <= Date.now());
});

t.test("regenerates over damaged files", async (t) => {
  const dir = t.testdir();
  const first = await ensureSelfSignedCertificate({ dir });
  writeFileSync(first.certPath, "not a certificate");
  const second = await ensureSelfSignedCertificate({ dir });
  t.equal(second.generated, true);
  t.doesNotThrow(() => buildTlsOptions({ cert: second.certPath, key: second.keyPath }));
});

t.test("refuses names that are neither host names nor IP addresses", async (t) => {
  await t.rejects(
    ensureSelfSignedCertificate({ dir: t.testdir(), hostnames: ["bad name/x"] }),
    new ConfigError('self-signed certificate: "bad name/x" is neither a host name nor an IP address'),
  );
});

t.test("reports an unwritable folder as a configuration error", async (t) => {
  const dir = t.testdir({ blocker: "a file, not a folder" });
  await t.rejects(ensureSelfSignedCertificate({ dir: `${dir}/blocker/tls` }), ConfigError);
});
