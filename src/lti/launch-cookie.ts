import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { link, mkdir, readFile, unlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { parseCookies } from "../cookie-header.js";
import type { LaunchContext } from "./launch-context.js";
import { launchContextOf } from "./launch-context.js";

export const LAUNCH_COOKIE_NAME = "ltictr_launch";
export const LAUNCH_COOKIE_KEY_FILE = "launch-cookie.key";
export const DEFAULT_LAUNCH_COOKIE_MAX_AGE_MS = 24 * 60 * 60 * 1000;

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const FORMAT_VERSION = 1;
/** Binds the ciphertext to its purpose, so no other sealed value of the proxy can be replayed as a launch. */
const ASSOCIATED_DATA = Buffer.from(`${LAUNCH_COOKIE_NAME}/v${FORMAT_VERSION}`);
/** Tolerated clock step backwards between sealing and reading. */
const FUTURE_SKEW_MS = 60 * 1000;

/** The C proxy's plaintext cookies (URL-encoded values), read only with `acceptLegacyCookies`. */
const LEGACY_COOKIES = {
  sessionInfo: "lms_sessioninfo",
  serverUrl: "lms_serverurl",
  serverPath: "lms_serverpath",
  rpcToken: "lms_rpctoken",
} as const;

export interface LaunchCookieOptions {
  /** Cookies sealed longer ago than this are ignored. Default 24 h. */
  maxAgeMs?: number;
  /** Also read the C proxy's four `lms_*` cookies when the sealed cookie is absent (migration). */
  acceptLegacyCookies?: boolean;
  /** Clock, for tests. */
  now?: () => number;
}

/**
 * Carries an LTI launch's context from the launch response to the browser's later kernel WebSocket
 * upgrades, without showing the Moodle token to the browser: the whole context is sealed (AES-256-GCM)
 * into one cookie under a key that never leaves the proxy's data directory.
 */
export class LaunchCookieCodec {
  private readonly maxAgeMs: number;
  private readonly acceptLegacyCookies: boolean;
  private readonly now: () => number;

  private constructor(
    private readonly key: Buffer,
    options: LaunchCookieOptions,
  ) {
    this.maxAgeMs = options.maxAgeMs ?? DEFAULT_LAUNCH_COOKIE_MAX_AGE_MS;
    this.acceptLegacyCookies = options.acceptLegacyCookies ?? false;
    this.now = options.now ?? Date.now;
  }

  /** Loads `<dataDir>/launch-cookie.key`, creating the directory and a random key (mode 0600) on first use. */
  static async open(dataDir: string, options: LaunchCookieOptions = {}): Promise<LaunchCookieCodec> {
    return LaunchCookieCodec.openKeyFile(join(dataDir, LAUNCH_COOKIE_KEY_FILE), options);
  }

  /**
   * Loads the key from `keyFile`, creating its folder and a random key (mode 0600) on first use. Replicas behind
   * one load balancer share the file, so a launch sealed by one is read by the others.
   */
  static async openKeyFile(keyFile: string, options: LaunchCookieOptions = {}): Promise<LaunchCookieCodec> {
    return new LaunchCookieCodec(await loadOrCreateKey(keyFile), options);
  }

  /** The `Set-Cookie` header value for the launch response. */
  seal(context: LaunchContext): string {
    const plain = Buffer.from(
      JSON.stringify([
        FORMAT_VERSION,
        this.now(),
        context.instId,
        context.ltiId,
        context.serverUrl,
        context.serverPath,
        context.rpcToken,
      ]),
    );
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    cipher.setAAD(ASSOCIATED_DATA);
    const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return `${LAUNCH_COOKIE_NAME}=${sealed.toString("base64url")}; HttpOnly; Secure; SameSite=None; Path=/`;
  }

  /** The launch context from a request's `Cookie` header; missing, tampered, foreign or expired → undefined. */
  read(cookieHeader: string | undefined): LaunchContext | undefined {
    if (cookieHeader === undefined) return undefined;
    const cookies = parseCookies(cookieHeader);
    let newest: { issuedAt: number; context: LaunchContext } | undefined;
    // A browser may hold several (different paths or domains); the most recent valid launch wins.
    for (const value of cookies.get(LAUNCH_COOKIE_NAME) ?? []) {
      const opened = this.open(value);
      if (opened && (newest === undefined || opened.issuedAt > newest.issuedAt)) newest = opened;
    }
    if (newest) return newest.context;
    return this.acceptLegacyCookies ? readLegacyCookies(cookies) : undefined;
  }

  private open(value: string): { issuedAt: number; context: LaunchContext } | undefined {
    const sealed = Buffer.from(value, "base64url");
    if (sealed.length <= IV_BYTES + TAG_BYTES) return undefined;
    let plain: Buffer;
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.key, sealed.subarray(0, IV_BYTES));
      decipher.setAAD(ASSOCIATED_DATA);
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      plain = Buffer.concat([
        decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch {
      return undefined;
    }
    const fields = parseSealedFields(plain);
    if (fields === undefined) return undefined;
    const [issuedAt, instId, ltiId, serverUrl, serverPath, rpcToken] = fields;
    const age = this.now() - issuedAt;
    if (age > this.maxAgeMs || age < -FUTURE_SKEW_MS) return undefined;
    return { issuedAt, context: { instId, ltiId, serverUrl, serverPath, rpcToken } };
  }
}

type SealedFields = [number, string, string, string, string, string];

function parseSealedFields(plain: Buffer): SealedFields | undefined {
  let value: unknown;
  try {
    value = JSON.parse(plain.toString("utf8"));
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length !== 7 || value[0] !== FORMAT_VERSION) return undefined;
  const [, issuedAt, ...strings] = value as unknown[];
  if (typeof issuedAt !== "number" || !strings.every((s) => typeof s === "string")) return undefined;
  return [issuedAt, ...(strings as [string, string, string, string, string])];
}

function readLegacyCookies(cookies: Map<string, string[]>): LaunchContext | undefined {
  const decoded = (name: string): string | undefined => {
    const raw = cookies.get(name)?.[0];
    if (raw === undefined) return undefined;
    try {
      return decodeURIComponent(raw);
    } catch {
      return undefined;
    }
  };
  return launchContextOf({
    sessionInfo: decoded(LEGACY_COOKIES.sessionInfo),
    serverUrl: decoded(LEGACY_COOKIES.serverUrl),
    serverPath: decoded(LEGACY_COOKIES.serverPath),
    rpcToken: decoded(LEGACY_COOKIES.rpcToken),
  });
}

async function loadOrCreateKey(path: string): Promise<Buffer> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  try {
    return checkedKey(await readFile(path), path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  // Written aside and linked into place, so a crash never leaves a short key and two processes starting
  // together end up with the same key.
  const temp = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  await writeFile(temp, randomBytes(KEY_BYTES), { mode: 0o600, flag: "wx" });
  try {
    await link(temp, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  } finally {
    await unlink(temp);
  }
  return checkedKey(await readFile(path), path);
}

function checkedKey(key: Buffer, path: string): Buffer {
  if (key.length !== KEY_BYTES)
    throw new Error(`${path}: expected a ${KEY_BYTES}-byte key, found ${key.length} bytes`);
  return key;
}
