import { execFileSync } from "node:child_process";
import { randomBytes, X509Certificate } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Certificates for TLS tests of the binary, made with the openssl CLI (P-256 keys, a few milliseconds each): a root
 * CA, intermediate CAs below it, server certificates for 127.0.0.1 and localhost, and client certificates. Everything
 * is written as PEM files into the folder given, because the proxy reads certificates from files.
 */

export interface IssuedCertificate {
  /** PEM file of the certificate. */
  cert: string;
  /** PEM file of its private key. */
  key: string;
  /** As `TLSSocket.getPeerCertificate().fingerprint256` shows it. */
  fingerprint256: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

function newKey(dir: string, name: string): string {
  openssl(dir, ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${name}.key`]);
  return join(dir, `${name}.key`);
}

const CA_EXTENSIONS = [
  "basicConstraints=critical,CA:TRUE",
  "keyUsage=critical,keyCertSign,cRLSign",
  "subjectKeyIdentifier=hash",
];

export function fingerprintOfFile(certFile: string): string {
  return new X509Certificate(readFileSync(certFile)).fingerprint256;
}

export class CertificateAuthority {
  private constructor(
    readonly dir: string,
    readonly name: string,
    /** PEM file of this CA's certificate. */
    readonly cert: string,
    private readonly key: string,
  ) {}

  /** A self-signed root CA named `name`. */
  static root(dir: string, name: string): CertificateAuthority {
    const key = newKey(dir, name);
    openssl(dir, [
      "req",
      "-x509",
      "-new",
      "-key",
      key,
      "-subj",
      `/CN=${name}`,
      "-days",
      "2",
      ...CA_EXTENSIONS.flatMap((extension) => ["-addext", extension]),
      "-out",
      `${name}.pem`,
    ]);
    return new CertificateAuthority(dir, name, join(dir, `${name}.pem`), key);
  }

  /** The PEM text of the CA certificate, for a client's `ca` option. */
  get pem(): string {
    return readFileSync(this.cert, "utf8");
  }

  /** An intermediate CA signed by this one. */
  intermediate(name: string): CertificateAuthority {
    const key = this.issue(name, [...CA_EXTENSIONS, "authorityKeyIdentifier=keyid"]);
    return new CertificateAuthority(this.dir, name, join(this.dir, `${name}.pem`), key);
  }

  /** A server certificate for 127.0.0.1 and localhost; `name` becomes its CN and file names. */
  server(name: string): IssuedCertificate {
    const key = this.issue(name, [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature",
      "extendedKeyUsage=serverAuth",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "authorityKeyIdentifier=keyid",
    ]);
    return this.issued(name, key);
  }

  /** A TLS client certificate (e.g. the proxy's identity towards HTTPS upstreams); `name` becomes its CN. */
  client(name: string): IssuedCertificate {
    const key = this.issue(name, [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature",
      "extendedKeyUsage=clientAuth",
      "authorityKeyIdentifier=keyid",
    ]);
    return this.issued(name, key);
  }

  private issued(name: string, key: string): IssuedCertificate {
    const cert = join(this.dir, `${name}.pem`);
    return { cert, key, fingerprint256: fingerprintOfFile(cert) };
  }

  private issue(name: string, extensions: string[]): string {
    const key = newKey(this.dir, name);
    writeFileSync(join(this.dir, `${name}.ext`), extensions.join("\n") + "\n");
    openssl(this.dir, ["req", "-new", "-key", key, "-subj", `/CN=${name}`, "-out", `${name}.csr`]);
    openssl(this.dir, [
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      this.cert,
      "-CAkey",
      this.key,
      "-set_serial",
      `0x${randomBytes(12).toString("hex")}`,
      "-days",
      "2",
      "-extfile",
      `${name}.ext`,
      "-out",
      `${name}.pem`,
    ]);
    return key;
  }
}
