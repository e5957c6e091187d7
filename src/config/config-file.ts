import { readFileSync } from "node:fs";
import { isOptionName, OPTIONS, envVariableFor, type OptionSpec, type OptionValues } from "./options.js";
import { ConfigError } from "./config-error.js";
import { ltictrConfSettings, readLtictrConf } from "./legacy-ltictr.js";
import { isJsonObject } from "../json-object.js";

/**
 * This proxy's own configuration sources besides the command line: a JSON file (`--config file.json`; a `.conf` path
 * is read as the C proxy's format) and `LTICTR_<OPTION>` environment variables. Keys are the long option names in
 * camelCase, as commander names them (`--ssl-cert` → `sslCert`, `--no-x-forward` → `xForward: false`). The caller
 * merges: flags > environment > config file > defaults.
 */

export type ConfigValue = string | number | boolean | string[];

const squash = (name: string) => name.replace(/[-_]/g, "").toLowerCase();

function suggestion(name: string): string {
  const match = Object.keys(OPTIONS).find((key) => squash(key) === squash(name.replace(/^-+/, "")));
  return match ? ` (did you mean "${match}"?)` : "";
}

function expected(spec: OptionSpec): string {
  switch (spec.type) {
    case "port":
      return "a port number (0-65535)";
    case "integer":
      return (spec.min ?? 0) <= 0 && (spec.max ?? Infinity) >= 2_147_483_647
        ? "a whole number >= 0"
        : `a whole number from ${spec.min ?? 0} to ${spec.max}`;
    case "boolean":
      return "true or false";
    case "list":
      return "a list of strings";
    case "string":
      return spec.choices ? `one of ${spec.choices.join(", ")}` : "a string";
  }
}

function show(spec: OptionSpec, value: unknown): string {
  return spec.secret ? "(hidden)" : JSON.stringify(value);
}

function checkString(where: string, spec: OptionSpec, value: string): string {
  if ((spec.choices && !spec.choices.includes(value)) || (spec.check && !spec.check(value))) {
    throw new ConfigError(`${where}: expected ${expected(spec)}, got ${show(spec, value)}`);
  }
  return value;
}

function checkInteger(where: string, spec: OptionSpec, value: number): number {
  const valid =
    Number.isSafeInteger(value) && value >= (spec.min ?? 0) && value <= (spec.max ?? Number.MAX_SAFE_INTEGER);
  if (!valid) throw new ConfigError(`${where}: expected ${expected(spec)}, got ${show(spec, value)}`);
  return value;
}

/** A JSON value checked against the key's type; JSON numbers for numbers, booleans for booleans. */
function fromJson(where: string, spec: OptionSpec, value: unknown): ConfigValue {
  const wrong = () => new ConfigError(`${where}: expected ${expected(spec)}, got ${show(spec, value)}`);
  switch (spec.type) {
    case "string":
      if (typeof value !== "string") throw wrong();
      return checkString(where, spec, value);
    case "integer":
    case "port":
      if (typeof value !== "number") throw wrong();
      return checkInteger(where, spec, value);
    case "boolean":
      if (typeof value !== "boolean") throw wrong();
      return value;
    case "list":
      if (typeof value === "string") return [value];
      if (!Array.isArray(value) || !value.every((item): item is string => typeof item === "string"))
        throw wrong();
      return [...value];
  }
}

const TRUE_WORDS = new Set(["true", "1", "yes", "on"]);
const FALSE_WORDS = new Set(["false", "0", "no", "off"]);

/** An environment string checked against the key's type. */
function fromEnv(where: string, spec: OptionSpec, raw: string): ConfigValue {
  const wrong = () => new ConfigError(`${where}: expected ${expected(spec)}, got ${show(spec, raw)}`);
  const value = raw.trim();
  switch (spec.type) {
    case "string":
      return checkString(where, spec, raw);
    case "integer":
    case "port":
      if (!/^\d+$/.test(value)) throw wrong();
      return checkInteger(where, spec, Number(value));
    case "boolean":
      if (TRUE_WORDS.has(value.toLowerCase())) return true;
      if (FALSE_WORDS.has(value.toLowerCase())) return false;
      throw wrong();
    case "list":
      if (value.startsWith("[")) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(value);
        } catch {
          throw new ConfigError(`${where}: a value starting with [ must be a JSON array of strings`);
        }
        return fromJson(where, spec, parsed);
      }
      return value
        .split(",")
        .map((item) => item.trim())
        .filter((item) => item !== "");
  }
}

/** `MOODLE_URL` → `moodleUrl`. */
function envNameToKey(name: string): string {
  return name.toLowerCase().replace(/_([a-z0-9])/g, (_match, letter: string) => letter.toUpperCase());
}

const ENV_PREFIX = "LTICTR_";

export interface ReadConfigOptions {
  /** Receives notes about ignored settings (unknown `LTICTR_*` variables, unused `.conf` keys). */
  warn?: (message: string) => void;
}

/**
 * Settings from `LTICTR_<UPPER_SNAKE_OPTION>` variables (`LTICTR_PORT=443`, `LTICTR_MOODLE_URL=…`,
 * `LTICTR_MOODLE_TOKEN=…`). Empty variables count as unset; lists are comma-separated or a JSON array. A bad value is
 * a ConfigError. An unknown `LTICTR_*` name is only warned about: the environment is shared with other programs
 * (test harnesses mark their processes with `LTICTR_E2E_HUB`), and the warning still shows a typo.
 */
export function readEnvConfig(
  env: NodeJS.ProcessEnv = process.env,
  options: ReadConfigOptions = {},
): OptionValues {
  const values: OptionValues = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || raw === undefined || raw === "") continue;
    const key = envNameToKey(name.slice(ENV_PREFIX.length));
    if (!isOptionName(key) || envVariableFor(key) !== name) {
      options.warn?.(
        `environment variable ${name} is not a setting of ltictr-proxy and is ignored${suggestion(key)}`,
      );
      continue;
    }
    (values as Record<string, ConfigValue>)[key] = fromEnv(`environment variable ${name}`, OPTIONS[key], raw);
  }
  return values;
}

function parseJsonConfig(path: string, text: string): OptionValues {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(
      `--config ${path}: invalid JSON (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  if (!isJsonObject(parsed)) {
    throw new ConfigError(`--config ${path}: expected a JSON object of settings`);
  }
  const values: OptionValues = {};
  for (const [name, value] of Object.entries(parsed)) {
    // JSON has no comments; "//" keys are the usual stand-in.
    if (name.startsWith("//")) continue;
    if (!isOptionName(name))
      throw new ConfigError(`--config ${path}: unknown key "${name}"${suggestion(name)}`);
    if (value === null) continue;
    (values as Record<string, ConfigValue>)[name] = fromJson(
      `--config ${path}: key "${name}"`,
      OPTIONS[name],
      value,
    );
  }
  return values;
}

/** Reads `--config <path>`: JSON, or the C `ltictr_proxy.conf` format when the name ends in `.conf`. */
export function readConfigFile(path: string, options: ReadConfigOptions = {}): OptionValues {
  if (path.endsWith(".conf")) {
    const { settings, warnings } = ltictrConfSettings(readLtictrConf(path));
    for (const warning of warnings) options.warn?.(warning);
    return { ...settings };
  }
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(
      `--config ${path}: cannot read (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  return parseJsonConfig(path, text);
}
