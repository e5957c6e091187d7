import { createHash, X509Certificate } from "node:crypto";
import { realpathSync, watch, type FSWatcher } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import type { SecureContextOptions } from "node:tls";
import type { Logger } from "../log/logger.js";
import { events, type TlsListener } from "../events.js";
import type { TlsFiles } from "../config/config.js";
import { buildTlsOptions, tlsSourcePaths, type TlsServerOptions } from "./tls-options.js";

const DAY_MS = 24 * 60 * 60 * 1000;
/** Let's Encrypt renews 30 days ahead; an operator hears about a stuck renewal two weeks before it bites. */
const EXPIRY_WARNING_DAYS = 14;

export interface CertificateInfo {
  subject: string;
  issuer: string;
  subjectAltName?: string;
  validFrom: Date;
  validTo: Date;
  /** SHA-256 fingerprint, colon-separated hex, as `openssl x509 -fingerprint -sha256` prints it. */
  fingerprint256: string;
}

/** The leaf (first) certificate of a PEM bundle, or undefined when it cannot be parsed. */
export function describeCertificate(pem: Buffer | string): CertificateInfo | undefined {
  try {
    const cert = new X509Certificate(pem);
    const info: CertificateInfo = {
      subject: cert.subject.split("\n").join(", "),
      issuer: cert.issuer.split("\n").join(", "),
      validFrom: new Date(cert.validFrom),
      validTo: new Date(cert.validTo),
      fingerprint256: cert.fingerprint256,
    };
    if (cert.subjectAltName) info.subjectAltName = cert.subjectAltName;
    return info;
  } catch {
    return undefined;
  }
}

/** The part of an `https.Server` / `tls.Server` the reloader drives. */
export interface SecureContextTarget {
  setSecureContext(options: SecureContextOptions): void;
}

export interface CertificateReloaderOptions {
  server: SecureContextTarget;
  files: TlsFiles;
  /** The options the server was created with; read from `files` when absent. */
  initial?: TlsServerOptions;
  logger: Logger;
  /** Which listener it serves, in the events it publishes. */
  listener?: TlsListener;
  /** Reload when a file changes (default true). */
  watch?: boolean;
  /** Quiet time after the last file event before reloading; renewals write several files. */
  debounceMs?: number;
  now?: () => number;
}

export type ReloadStatus = "reloaded" | "unchanged" | "failed";

export interface ReloadResult {
  status: ReloadStatus;
  certificate?: CertificateInfo;
  error?: string;
}

function fingerprintOf(options: TlsServerOptions): string {
  const hash = createHash("sha256");
  for (const part of [options.key, options.cert, options.ca, options.dhparam]) {
    hash.update(part ?? Buffer.alloc(0));
    hash.update("\0");
  }
  hash.update(options.passphrase ?? "");
  return hash.digest("hex");
}

/**
 * Keeps a TLS server's certificate current: `reload()` (wired to SIGHUP) and changes of the certificate files
 * (Let's Encrypt renewals swap symlinks in `live/`) re-read the files and install them with `setSecureContext`, so new
 * handshakes get the new certificate while open connections carry on. A failed reload keeps the current certificate.
 */
export class CertificateReloader {
  private readonly options: CertificateReloaderOptions;
  private readonly now: () => number;
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly watchedNames = new Set<string>();
  private fingerprint: string;
  private info: CertificateInfo | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(options: CertificateReloaderOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
    const initial = options.initial ?? buildTlsOptions(options.files);
    this.fingerprint = fingerprintOf(initial);
    this.info = describeCertificate(initial.cert);
    this.report("TLS certificate");
    if (options.watch !== false) this.refreshWatchers();
  }

  /** The certificate new connections currently get. */
  get certificate(): CertificateInfo | undefined {
    return this.info;
  }

  /** Re-reads the files and installs them if they changed; never throws. */
  reload(reason = "reload requested"): ReloadResult {
    const { logger } = this.options;
    let result: ReloadResult;
    try {
      const next = buildTlsOptions(this.options.files);
      const fingerprint = fingerprintOf(next);
      if (fingerprint === this.fingerprint) {
        logger.debug(`TLS certificate unchanged (${reason})`);
        result = { status: "unchanged" };
      } else {
        this.options.server.setSecureContext(next);
        this.fingerprint = fingerprint;
        this.info = describeCertificate(next.cert);
        this.report(`Reloaded TLS certificate (${reason}):`);
        result = { status: "reloaded" };
      }
      if (this.info) result.certificate = this.info;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      logger.error(`TLS certificate reload failed (${reason}); keeping the current certificate: ${message}`);
      result = { status: "failed", error: message };
    }
    // Symlinks may now point into other folders.
    if (this.options.watch !== false && !this.closed) this.refreshWatchers();
    return result;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }

  private report(prefix: string): void {
    const { logger } = this.options;
    const info = this.info;
    if (!info) {
      logger.warn(`${prefix}: the certificate could not be inspected`);
      return;
    }
    if (events.certificateLoaded.active)
      events.certificateLoaded.publish({
        listener: this.options.listener ?? "public",
        subject: info.subject,
        validTo: info.validTo.getTime(),
      });
    const daysLeft = Math.floor((info.validTo.getTime() - this.now()) / DAY_MS);
    const summary =
      `${prefix} ${info.subject} issued by ${info.issuer}, valid until ${info.validTo.toISOString()}` +
      ` (${daysLeft} days), SHA-256 ${info.fingerprint256}`;
    if (daysLeft < 0) logger.error(`${summary}: EXPIRED`);
    else if (daysLeft < EXPIRY_WARNING_DAYS) logger.warn(`${summary}: expires soon`);
    else logger.info(summary);
  }

  private schedule(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.reload("certificate files changed");
    }, this.options.debounceMs ?? 1000);
    this.timer.unref();
  }

  /**
   * Watches the folders of the configured paths and of their symlink targets: renaming or re-linking shows up in the
   * former, writing into a linked file only in the latter.
   */
  private refreshWatchers(): void {
    const folders = new Set<string>();
    this.watchedNames.clear();
    for (const path of tlsSourcePaths(this.options.files)) {
      const absolute = resolve(path);
      folders.add(dirname(absolute));
      this.watchedNames.add(basename(absolute));
      try {
        const real = realpathSync(absolute);
        folders.add(dirname(real));
        this.watchedNames.add(basename(real));
      } catch {
        // Missing right now (mid-renewal); the folder watch reports its return.
      }
    }
    for (const [folder, watcher] of this.watchers) {
      if (!folders.has(folder)) {
        watcher.close();
        this.watchers.delete(folder);
      }
    }
    for (const folder of folders) {
      if (this.watchers.has(folder)) continue;
      try {
        const watcher = watch(folder, { persistent: false }, (_event, name) => {
          if (name === null || this.watchedNames.has(name.toString())) this.schedule();
        });
        watcher.on("error", (error) => {
          this.options.logger.warn(`Stopped watching ${folder} for certificate changes: ${error.message}`);
          watcher.close();
          this.watchers.delete(folder);
        });
        this.watchers.set(folder, watcher);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        this.options.logger.warn(
          `Cannot watch ${folder} for certificate changes (${message}); SIGHUP still reloads`,
        );
      }
    }
  }
}
