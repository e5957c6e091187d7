import { join } from "node:path";
import type { CliOptions } from "../cli/options.js";
import type { Settings } from "../config/settings.js";
import type { Logger } from "../log/logger.js";
import type { TlsFiles } from "./tls-options.js";

/** Certificate files of the public listener: given ones, or generated with `--ssl-self-signed`. */
export async function publicListenerTlsFiles(settings: Settings, log: Logger): Promise<TlsFiles | undefined> {
  const { options } = settings;
  let key = options.sslKey;
  let cert = options.sslCert;
  if (!key && !cert) {
    if (!options.sslSelfSigned) return undefined;
    // node-forge is loaded only when a certificate has to be made: it is megabytes of memory otherwise unused.
    const { ensureSelfSignedCertificate } = await import("./self-signed.js");
    const generated = await ensureSelfSignedCertificate({
      dir: join(settings.dataDir, "tls"),
      logger: log,
    });
    log.info(
      "Serving HTTPS with the self-signed certificate %s (trust %s in clients)",
      generated.certPath,
      generated.caCertPath,
    );
    key = generated.keyPath;
    cert = generated.certPath;
  }
  return {
    key,
    cert,
    chain: options.sslChain,
    ca: options.sslCa,
    dhparam: options.sslDhparam,
    passphrase: process.env.CONFIGPROXY_SSL_KEY_PASSPHRASE,
    ciphers: options.sslCiphers,
    protocol: options.sslProtocol,
    requestCert: options.sslRequestCert,
    rejectUnauthorized: options.sslRejectUnauthorized,
    optionPrefix: "--ssl",
  };
}

export function apiListenerTlsFiles(options: CliOptions): TlsFiles | undefined {
  if (!options.apiSslKey && !options.apiSslCert) return undefined;
  return {
    key: options.apiSslKey,
    cert: options.apiSslCert,
    ca: options.apiSslCa,
    passphrase: process.env.CONFIGPROXY_API_SSL_KEY_PASSPHRASE,
    ciphers: options.sslCiphers,
    protocol: options.sslProtocol,
    requestCert: options.apiSslRequestCert,
    rejectUnauthorized: options.apiSslRejectUnauthorized,
    optionPrefix: "--api-ssl",
  };
}
