import { join } from "node:path";
import type { TlsConfig, TlsFiles } from "../config/config.js";
import type { Logger } from "../log/logger.js";

/** Certificate files of the public listener: given ones, or generated with `--ssl-self-signed`. */
export async function publicListenerTlsFiles(
  tls: TlsConfig,
  dataDir: string,
  log: Logger,
): Promise<TlsFiles | undefined> {
  const files = tls.public;
  if (!files) return undefined;
  if (files.key || files.cert || !tls.selfSigned) return files;
  // node-forge is loaded only when a certificate has to be made: it is megabytes of memory otherwise unused.
  const { ensureSelfSignedCertificate } = await import("./self-signed.js");
  const generated = await ensureSelfSignedCertificate({ dir: join(dataDir, "tls"), logger: log });
  log.info(
    "Serving HTTPS with the self-signed certificate %s (trust %s in clients)",
    generated.certPath,
    generated.caCertPath,
  );
  return { ...files, key: generated.keyPath, cert: generated.certPath };
}
