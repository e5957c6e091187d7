import { generateKeyPair, randomBytes, X509Certificate, createPrivateKey } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import forge from "node-forge";
import type { Logger } from "../log/logger.js";
import { ConfigError } from "../config/config-error.js";

const generateRsaKeyPair = promisify(generateKeyPair);

/** Names every generated certificate covers, so local clients and health checks work out of the box. */
export const DEFAULT_SELF_SIGNED_NAMES: readonly string[] = ["localhost", "127.0.0.1", "::1"];

const DAY_MS = 24 * 60 * 60 * 1000;
const CA_VALIDITY_DAYS = 3650;
/** Browsers refuse server certificates valid for longer than 398 days. */
const SERVER_VALIDITY_DAYS = 397;
const DEFAULT_RENEW_WITHIN_DAYS = 30;

export interface SelfSignedOptions {
  /** Folder for the PEM files (created with mode 0700), e.g. `<data dir>/tls`. */
  dir: string;
  /** Host names or IP addresses to cover besides localhost, 127.0.0.1 and ::1. */
  hostnames?: readonly string[];
  /** A certificate expiring within this many days is replaced. */
  renewWithinDays?: number;
  /** The clock; certificates are valid from this moment. */
  now?: Date;
  logger?: Logger;
}

export interface SelfSignedCertificate {
  /** The CA to trust in clients (`https.get({ ca })`, browser import). */
  caCertPath: string;
  caKeyPath: string;
  certPath: string;
  keyPath: string;
  /** The names the server certificate covers. */
  names: string[];
  /** False when valid files from an earlier start were reused. */
  generated: boolean;
}

interface KeyPair {
  pem: string;
  forgePrivate: forge.pki.rsa.PrivateKey;
  forgePublic: forge.pki.rsa.PublicKey;
}

/** Node's native RSA generation takes a fraction of forge's pure-JS time and does not block the event loop. */
async function newKeyPair(): Promise<KeyPair> {
  const { privateKey } = await generateRsaKeyPair("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
  });
  const forgePrivate = forge.pki.privateKeyFromPem(privateKey);
  return {
    pem: privateKey,
    forgePrivate,
    forgePublic: forge.pki.setRsaPublicKey(forgePrivate.n, forgePrivate.e),
  };
}

/** A positive 128-bit serial number (RFC 5280 wants unique, non-negative, at most 20 octets). */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString("hex");
}

function validity(cert: forge.pki.Certificate, now: Date, days: number): void {
  // Back-dated a little so clients with a slightly slow clock accept a fresh certificate.
  cert.validity.notBefore = new Date(now.getTime() - 5 * 60 * 1000);
  cert.validity.notAfter = new Date(now.getTime() + days * DAY_MS);
}

function createCa(keys: KeyPair, now: Date): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.forgePublic;
  cert.serialNumber = serialNumber();
  validity(cert, now, CA_VALIDITY_DAYS);
  const name = [
    { name: "commonName", value: `ltictr-proxy local CA ${serialNumber().slice(0, 8)}` },
    { name: "organizationName", value: "ltictr-proxy (self-signed)" },
  ];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: "basicConstraints", cA: true, pathLenConstraint: 0, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  cert.sign(keys.forgePrivate, forge.md.sha256.create());
  return cert;
}

function createServerCertificate(
  keys: KeyPair,
  ca: forge.pki.Certificate,
  caKey: forge.pki.rsa.PrivateKey,
  names: readonly string[],
  now: Date,
): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.forgePublic;
  cert.serialNumber = serialNumber();
  validity(cert, now, SERVER_VALIDITY_DAYS);
  if (cert.validity.notAfter > ca.validity.notAfter) cert.validity.notAfter = ca.validity.notAfter;
  // The operator's own name, when given, is what people read in the browser's certificate viewer.
  const commonName = names.find((name) => !DEFAULT_SELF_SIGNED_NAMES.includes(name)) ?? "localhost";
  cert.setSubject([{ name: "commonName", value: commonName }]);
  cert.setIssuer(ca.subject.attributes);
  cert.setExtensions([
    { name: "basicConstraints", cA: false, critical: true },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: true },
    {
      name: "subjectAltName",
      altNames: names.map((name) => (isIP(name) ? { type: 7, ip: name } : { type: 2, value: name })),
    },
    { name: "subjectKeyIdentifier" },
    { name: "authorityKeyIdentifier", keyIdentifier: ca.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return cert;
}

/** Writes via a temporary file and rename, so a crash never leaves half a key behind. */
function writeAtomically(path: string, content: string, mode: number): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, content, { mode });
  renameSync(temporary, path);
}

interface Loaded {
  cert: X509Certificate;
  pem: string;
  keyPem: string;
}

/** A certificate + key pair from disk that is usable until `usableUntil`, or undefined. */
function loadUsable(certPath: string, keyPath: string, now: Date, usableUntil: Date): Loaded | undefined {
  try {
    const pem = readFileSync(certPath, "utf8");
    const keyPem = readFileSync(keyPath, "utf8");
    const cert = new X509Certificate(pem);
    if (!cert.checkPrivateKey(createPrivateKey(keyPem))) return undefined;
    if (new Date(cert.validFrom) > now || new Date(cert.validTo) <= usableUntil) return undefined;
    return { cert, pem, keyPem };
  } catch {
    return undefined;
  }
}

function covers(cert: X509Certificate, names: readonly string[]): boolean {
  return names.every((name) =>
    isIP(name) ? cert.checkIP(name) !== undefined : cert.checkHost(name, { wildcards: false }) !== undefined,
  );
}

function normaliseNames(extra: readonly string[]): string[] {
  const names: string[] = [];
  for (const raw of [...DEFAULT_SELF_SIGNED_NAMES, ...extra]) {
    const name = raw
      .trim()
      .replace(/^\[(.*)\]$/, "$1")
      .toLowerCase();
    if (name === "") continue;
    if (!isIP(name) && !/^[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*\.?$/.test(name)) {
      throw new ConfigError(
        `self-signed certificate: ${JSON.stringify(raw)} is neither a host name nor an IP address`,
      );
    }
    if (!names.includes(name)) names.push(name);
  }
  return names;
}

/**
 * Makes sure `dir` holds a CA and a server certificate for localhost, 127.0.0.1, ::1 and `hostnames`: files from an
 * earlier start are reused while valid (the CA an operator may have imported survives server-certificate renewals);
 * otherwise new RSA-2048 / SHA-256 ones are generated. Key files get mode 0600.
 */
export async function ensureSelfSignedCertificate(
  options: SelfSignedOptions,
): Promise<SelfSignedCertificate> {
  const now = options.now ?? new Date();
  const usableUntil = new Date(
    now.getTime() + (options.renewWithinDays ?? DEFAULT_RENEW_WITHIN_DAYS) * DAY_MS,
  );
  const names = normaliseNames(options.hostnames ?? []);
  const paths = {
    caCertPath: join(options.dir, "ca.pem"),
    caKeyPath: join(options.dir, "ca-key.pem"),
    certPath: join(options.dir, "cert.pem"),
    keyPath: join(options.dir, "key.pem"),
  };

  const ca = loadUsable(paths.caCertPath, paths.caKeyPath, now, usableUntil);
  const server = loadUsable(paths.certPath, paths.keyPath, now, usableUntil);
  if (
    ca &&
    server &&
    covers(server.cert, names) &&
    server.cert.checkIssued(ca.cert) &&
    server.cert.verify(ca.cert.publicKey)
  ) {
    options.logger?.info(
      `Using the self-signed TLS certificate in ${paths.certPath} (valid until ${new Date(server.cert.validTo).toISOString()})`,
    );
    return { ...paths, names, generated: false };
  }

  try {
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    let caCert: forge.pki.Certificate;
    let caKey: forge.pki.rsa.PrivateKey;
    if (ca) {
      caCert = forge.pki.certificateFromPem(ca.pem);
      caKey = forge.pki.privateKeyFromPem(ca.keyPem);
    } else {
      const caKeys = await newKeyPair();
      caCert = createCa(caKeys, now);
      caKey = caKeys.forgePrivate;
      writeAtomically(paths.caKeyPath, caKeys.pem, 0o600);
      writeAtomically(paths.caCertPath, forge.pki.certificateToPem(caCert), 0o644);
    }
    const serverKeys = await newKeyPair();
    const serverCert = createServerCertificate(serverKeys, caCert, caKey, names, now);
    writeAtomically(paths.keyPath, serverKeys.pem, 0o600);
    writeAtomically(paths.certPath, forge.pki.certificateToPem(serverCert), 0o644);
    options.logger?.warn(
      `Generated a self-signed TLS certificate for ${names.join(", ")} in ${paths.certPath}` +
        ` (${ca ? "existing" : "new"} CA ${paths.caCertPath}); clients warn unless they trust that CA`,
    );
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError(`self-signed certificate in ${options.dir}: cannot create (${reason})`);
  }
  return { ...paths, names, generated: true };
}
