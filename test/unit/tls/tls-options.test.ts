import t from "tap";
import { createPrivateKey } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { ensureSelfSignedCertificate, type SelfSignedCertificate } from "../../../src/tls/self-signed.js";
import {
  buildTlsOptions,
  CHP_DEFAULT_CIPHERS,
  parseTlsProtocol,
  tlsSourcePaths,
} from "../../../src/tls/tls-options.js";
import { ConfigError } from "../../../src/config/config-error.js";
import { openTls, startHttpsServer } from "../../support/tls-client.js";

const base = t.testdir({
  "garbage.pem": "hello, not PEM\n",
  // 512 bits: a real group, too weak for OpenSSL 3.
  "dhparam-512.pem":
    "-----BEGIN X9.42 DH PARAMETERS-----\nMIGkAkEA5Zd8ctb1EoUj9XvIo/5DJT2cD2zDbuj46ec78Lu3NRcuNY+r+vjPMt7C\nh9vqyGuurV7vIX7MX2vtmHqVqF3i1wJADy4MSJWArbT5DuIsDQFpkdGL1ep4afQ3\n8MXSDwhb52D+HxtSujGxyA8npxj8anvC+MfeqWY+SXMgtzxsh0QoBgIdANwgbYQD\nFD+KMUlZeCDXQaeRKOkJ288yJMaiqws=\n-----END X9.42 DH PARAMETERS-----\n",
});
let one: SelfSignedCertificate;
let two: SelfSignedCertificate;
let encryptedKey: string;

t.before(async () => {
  one = await ensureSelfSignedCertificate({ dir: `${base}/one` });
  two = await ensureSelfSignedCertificate({ dir: `${base}/two` });
  encryptedKey = `${base}/encrypted-key.pem`;
  const pem = createPrivateKey(readFileSync(one.keyPath)).export({
    type: "pkcs8",
    format: "pem",
    cipher: "aes-256-cbc",
    passphrase: "s3cret",
  });
  writeFileSync(encryptedKey, pem);
});

t.test("builds CHP's server options with modern defaults", async (t) => {
  const options = buildTlsOptions({ cert: one.certPath, key: one.keyPath });
  t.equal(options.ciphers, CHP_DEFAULT_CIPHERS);
  t.match(CHP_DEFAULT_CIPHERS, /^ECDHE-RSA-AES128-GCM-SHA256:.*:!CAMELLIA$/);
  t.equal(options.honorCipherOrder, true);
  t.equal(options.minVersion, "TLSv1.2");
  t.equal(options.requestCert, false);
  t.notOk("rejectUnauthorized" in options, "left to Node unless asked for");
  t.same(options.cert, readFileSync(one.certPath));
  t.same(options.key, readFileSync(one.keyPath));
});

t.test(
  "appends the chain file to the certificate and passes CA, request-cert and reject flags",
  async (t) => {
    const options = buildTlsOptions({
      cert: one.certPath,
      key: one.keyPath,
      chain: one.caCertPath,
      ca: two.caCertPath,
      requestCert: true,
      rejectUnauthorized: false,
    });
    const certificates = options.cert.toString().match(/-----BEGIN CERTIFICATE-----/g) ?? [];
    t.equal(certificates.length, 2, "leaf + chain");
    t.ok(options.cert.toString().endsWith(readFileSync(one.caCertPath, "utf8")));
    t.same(options.ca, readFileSync(two.caCertPath));
    t.equal(options.requestCert, true);
    t.equal(options.rejectUnauthorized, false);
  },
);

t.test("a chain-only client (trusting just the CA) verifies the served chain", async (t) => {
  const { server, port } = await startHttpsServer(
    buildTlsOptions({ cert: one.certPath, key: one.keyPath, chain: one.caCertPath }),
  );
  t.teardown(() => server.close());
  const socket = await openTls(port, { ca: readFileSync(one.caCertPath) });
  t.equal(socket.authorized, true);
  socket.destroy();
});

t.test("decrypts a key with the passphrase", async (t) => {
  const options = buildTlsOptions({ cert: one.certPath, key: encryptedKey, passphrase: "s3cret" });
  t.equal(options.passphrase, "s3cret");
});

t.test("--ssl-protocol accepts CHP and Node spellings as the lowest version", async (t) => {
  const cases: Array<[string, string]> = [
    ["TLSv1_2", "TLSv1.2"],
    ["TLSv1_2_method", "TLSv1.2"],
    ["TLSv1.2", "TLSv1.2"],
    ["TLSv1_3", "TLSv1.3"],
    ["tlsv1.3", "TLSv1.3"],
    ["TLSv1_1_server_method", "TLSv1.1"],
    ["TLSv1", "TLSv1"],
    ["SSLv23", "TLSv1.2"],
    ["TLS_method", "TLSv1.2"],
  ];
  for (const [input, expected] of cases) t.equal(parseTlsProtocol(input), expected, input);
  for (const bad of ["SSLv3", "TLSv1_4", "", "TLSv1.2; rm -rf"]) {
    t.throws(() => parseTlsProtocol(bad), ConfigError, JSON.stringify(bad));
  }
  t.equal(
    buildTlsOptions({ cert: one.certPath, key: one.keyPath, protocol: "TLSv1_3" }).minVersion,
    "TLSv1.3",
  );
});

t.test("a TLS 1.2-only client is served by default and refused with --ssl-protocol TLSv1_3", async (t) => {
  const ca = readFileSync(one.caCertPath);
  const lenient = await startHttpsServer(buildTlsOptions({ cert: one.certPath, key: one.keyPath }));
  t.teardown(() => lenient.server.close());
  const socket = await openTls(lenient.port, { ca, maxVersion: "TLSv1.2" });
  t.equal(socket.getProtocol(), "TLSv1.2");
  socket.destroy();

  const strict = await startHttpsServer(
    buildTlsOptions({ cert: one.certPath, key: one.keyPath, protocol: "TLSv1_3" }),
  );
  t.teardown(() => strict.server.close());
  await t.rejects(openTls(strict.port, { ca, maxVersion: "TLSv1.2" }));
  const modern = await openTls(strict.port, { ca });
  t.equal(modern.getProtocol(), "TLSv1.3");
  modern.destroy();
});

t.test("lists the files to watch", async (t) => {
  t.same(tlsSourcePaths({ cert: "c", key: "k", chain: "ch", ca: "", dhparam: "d" }), ["k", "c", "ch", "d"]);
});

t.test("every problem is a ConfigError naming the option and the file", async (t) => {
  const missing = `${base}/missing.pem`;
  const garbage = `${base}/garbage.pem`;
  const cases: Array<[string, Parameters<typeof buildTlsOptions>[0], RegExp]> = [
    ["no files", {}, /^--ssl-cert and --ssl-key are needed for TLS$/],
    ["key without cert", { key: "k.pem" }, /^--ssl-key is given but --ssl-cert is missing/],
    ["cert without key", { cert: "c.pem" }, /^--ssl-cert is given but --ssl-key is missing/],
    ["missing cert", { cert: missing, key: "k" }, /^--ssl-cert .*missing\.pem: cannot read \(ENOENT/],
    ["cert not PEM", { cert: garbage, key: "k" }, /^--ssl-cert .*garbage\.pem: no PEM certificate found/],
    [
      "key not PEM",
      { cert: one.certPath, key: garbage },
      /^--ssl-key .*garbage\.pem: no PEM private key found/,
    ],
    [
      "key file holds a certificate",
      { cert: one.certPath, key: one.certPath },
      /^--ssl-key .*cert\.pem: no PEM private key found/,
    ],
    ["missing key", { cert: one.certPath, key: missing }, /^--ssl-key .*missing\.pem: cannot read/],
    [
      "key of another certificate",
      { cert: one.certPath, key: two.keyPath },
      /^--ssl-key .*two\/key\.pem does not match the certificate in --ssl-cert .*one\/cert\.pem$/,
    ],
    [
      "encrypted key without passphrase",
      { cert: one.certPath, key: encryptedKey },
      /^--ssl-key .*encrypted-key\.pem: invalid private key \(the key is encrypted and no passphrase was given\)$/,
    ],
    [
      "wrong passphrase",
      { cert: one.certPath, key: encryptedKey, passphrase: "wrong" },
      /^--ssl-key .*encrypted-key\.pem: invalid private key/,
    ],
    ["chain not PEM", { cert: one.certPath, key: one.keyPath, chain: garbage }, /^--ssl-chain .*garbage/],
    ["missing CA", { cert: one.certPath, key: one.keyPath, ca: missing }, /^--ssl-ca .*missing\.pem/],
    [
      "bad cipher list",
      { cert: one.certPath, key: one.keyPath, ciphers: "NOT-A-CIPHER" },
      /^--ssl-ciphers "NOT-A-CIPHER": /,
    ],
    [
      "weak DH parameters",
      { cert: one.certPath, key: one.keyPath, dhparam: `${base}/dhparam-512.pem` },
      /^--ssl-dhparam .*dhparam-512\.pem: .*less than 1024 bits/,
    ],
    [
      "DH parameters not PEM",
      { cert: one.certPath, key: one.keyPath, dhparam: garbage },
      /^--ssl-dhparam .*garbage\.pem: no PEM DH parameters found/,
    ],
    ["bad protocol", { cert: one.certPath, key: one.keyPath, protocol: "SSLv3" }, /^--ssl-protocol "SSLv3"/],
  ];
  for (const [name, files, message] of cases) {
    t.throws(() => buildTlsOptions(files), { name: "ConfigError", message }, name);
  }
  t.throws(
    () => buildTlsOptions({ optionPrefix: "--api-ssl", cert: missing, key: "k" }),
    { message: /^--api-ssl-cert / },
    "prefix for the API listener",
  );
});
