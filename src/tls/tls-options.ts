import { readFileSync } from "node:fs";
import { X509Certificate, createPrivateKey, type KeyObject } from "node:crypto";
import { createSecureContext, type SecureVersion } from "node:tls";
import { ConfigError } from "../config/config-error.js";
import type { TlsFiles } from "../config/config.js";

/** CHP's default cipher list (bin/configurable-http-proxy 155–180), used unless `--ssl-ciphers` is given. */
export const CHP_DEFAULT_CIPHERS = [
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "DHE-RSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-SHA256",
  "DHE-RSA-AES128-SHA256",
  "ECDHE-RSA-AES256-SHA384",
  "DHE-RSA-AES256-SHA384",
  "ECDHE-RSA-AES256-SHA256",
  "DHE-RSA-AES256-SHA256",
  "HIGH",
  "!RC4",
  "!aNULL",
  "!eNULL",
  "!EXPORT",
  "!DES",
  "!RC4",
  "!MD5",
  "!PSK",
  "!SRP",
  "!CAMELLIA",
].join(":");

export const DEFAULT_MIN_TLS_VERSION: SecureVersion = "TLSv1.2";

/** What `https.createServer` and `server.setSecureContext` need. */
export interface TlsServerOptions {
  key: Buffer;
  cert: Buffer;
  ca?: Buffer;
  dhparam?: Buffer;
  passphrase?: string;
  ciphers: string;
  honorCipherOrder: true;
  minVersion: SecureVersion;
  requestCert: boolean;
  rejectUnauthorized?: boolean;
}

/** The files a listener's TLS context is built from, for watching. */
export function tlsSourcePaths(files: TlsFiles): string[] {
  return [files.key, files.cert, files.chain, files.ca, files.dhparam].filter(
    (path): path is string => typeof path === "string" && path !== "",
  );
}

const PROTOCOL_VERSIONS: Record<string, SecureVersion | "any"> = {
  tls: "any",
  sslv23: "any",
  tlsv1: "TLSv1",
  "tlsv1.0": "TLSv1",
  "tlsv1.1": "TLSv1.1",
  "tlsv1.2": "TLSv1.2",
  "tlsv1.3": "TLSv1.3",
};

/**
 * `--ssl-protocol`: CHP's OpenSSL method names (`TLSv1_2`, `TLSv1_2_method`, generic `TLS` / `SSLv23`) or Node's
 * version names (`TLSv1.2`). CHP's `X_method` allowed exactly that version; here it is the lowest version accepted,
 * so naming TLS 1.2 keeps TLS 1.3 available. The generic names keep the default minimum.
 */
export function parseTlsProtocol(value: string): SecureVersion {
  const normalised = value
    .trim()
    .toLowerCase()
    .replace(/_(server_)?method$/, "")
    .replace(/^(tlsv1)_([0-3])$/, "$1.$2");
  const version = PROTOCOL_VERSIONS[normalised];
  if (version === undefined) {
    throw new ConfigError(
      `--ssl-protocol ${JSON.stringify(value)}: unsupported; use TLSv1_2 / TLSv1.2, TLSv1_3 / TLSv1.3 or TLS`,
    );
  }
  return version === "any" ? DEFAULT_MIN_TLS_VERSION : version;
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

function readPem(option: string, path: string, marker: RegExp, what: string): Buffer {
  let content: Buffer;
  try {
    content = readFileSync(path);
  } catch (error) {
    throw new ConfigError(`${option} ${path}: cannot read (${describeError(error)})`);
  }
  if (!marker.test(content.toString("latin1"))) {
    throw new ConfigError(`${option} ${path}: no PEM ${what} found in the file`);
  }
  return content;
}

const CERTIFICATE_MARKER = /-----BEGIN CERTIFICATE-----/;

function parseCertificate(option: string, path: string, pem: Buffer): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (error) {
    throw new ConfigError(`${option} ${path}: invalid PEM certificate (${describeError(error)})`);
  }
}

function parseKey(option: string, path: string, pem: Buffer, passphrase: string | undefined): KeyObject {
  try {
    return createPrivateKey({ key: pem, format: "pem", passphrase });
  } catch (error) {
    const reason =
      passphrase === undefined &&
      /passphrase|bad decrypt|interrupted or cancelled/i.test(describeError(error))
        ? "the key is encrypted and no passphrase was given"
        : describeError(error);
    throw new ConfigError(`${option} ${path}: invalid private key (${reason})`);
  }
}

function joinPem(first: Buffer, second: Buffer): Buffer {
  const separator =
    first.length > 0 && first[first.length - 1] !== 0x0a ? Buffer.from("\n") : Buffer.alloc(0);
  return Buffer.concat([first, separator, second]);
}

/**
 * Reads and checks a listener's certificate files and returns the options for `https.createServer` /
 * `setSecureContext`. Anything wrong (missing or unreadable file, not PEM, key not matching the certificate, bad
 * cipher list or protocol) is a ConfigError naming the option and the file.
 */
export function buildTlsOptions(files: TlsFiles): TlsServerOptions {
  const prefix = files.optionPrefix ?? "--ssl";
  if (!files.cert || !files.key) {
    const missing = files.cert ? `${prefix}-key` : `${prefix}-cert`;
    const given = files.cert ? `${prefix}-cert` : `${prefix}-key`;
    throw new ConfigError(
      files.cert || files.key
        ? `${given} is given but ${missing} is missing; both are needed for TLS`
        : `${prefix}-cert and ${prefix}-key are needed for TLS`,
    );
  }
  const certOption = `${prefix}-cert`;
  const keyOption = `${prefix}-key`;

  let cert = readPem(certOption, files.cert, CERTIFICATE_MARKER, "certificate");
  const leaf = parseCertificate(certOption, files.cert, cert);
  if (files.chain) {
    const chainOption = `${prefix}-chain`;
    const chain = readPem(chainOption, files.chain, CERTIFICATE_MARKER, "certificate");
    parseCertificate(chainOption, files.chain, chain);
    cert = joinPem(cert, chain);
  }

  const key = readPem(keyOption, files.key, /-----BEGIN [A-Z ]*PRIVATE KEY-----/, "private key");
  const keyObject = parseKey(keyOption, files.key, key, files.passphrase);
  if (!leaf.checkPrivateKey(keyObject)) {
    throw new ConfigError(
      `${keyOption} ${files.key} does not match the certificate in ${certOption} ${files.cert}`,
    );
  }

  const options: TlsServerOptions = {
    key,
    cert,
    ciphers: files.ciphers ?? CHP_DEFAULT_CIPHERS,
    honorCipherOrder: true,
    minVersion: files.protocol ? parseTlsProtocol(files.protocol) : DEFAULT_MIN_TLS_VERSION,
    requestCert: files.requestCert ?? false,
  };
  if (files.passphrase !== undefined) options.passphrase = files.passphrase;
  if (files.rejectUnauthorized !== undefined) options.rejectUnauthorized = files.rejectUnauthorized;
  if (files.ca) options.ca = readPem(`${prefix}-ca`, files.ca, CERTIFICATE_MARKER, "certificate");
  if (files.dhparam) {
    options.dhparam = readPem(
      `${prefix}-dhparam`,
      files.dhparam,
      /-----BEGIN (X9\.42 )?DH PARAMETERS-----/,
      "DH parameters",
    );
  }

  try {
    createSecureContext(options);
  } catch (error) {
    const message = describeError(error);
    let culprit = `${certOption} ${files.cert}`;
    if (files.ciphers && /cipher/i.test(message))
      culprit = `${prefix}-ciphers ${JSON.stringify(files.ciphers)}`;
    else if (files.dhparam && /\bdh/i.test(message)) culprit = `${prefix}-dhparam ${files.dhparam}`;
    throw new ConfigError(`${culprit}: ${message}`);
  }
  return options;
}
