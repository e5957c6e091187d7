import { readFileSync } from "node:fs";
import { parseByteSize } from "../plan/byte-size.js";
import { POLICY_VARIABLES_THE_PLAN_SETS } from "../plan/environment.js";
import {
  ACCOUNT_NAME,
  ENVIRONMENT_NAME,
  IMAGE_REFERENCE,
  MAX_ACCOUNT_ID,
  NOTEBOOK_PATH,
} from "../plan/names.js";
import { MIN_CPUS, MIN_MEMORY } from "../plan/resource-limits.js";
import { DEFAULT_SPAWNER_POLICY, type SpawnerPolicy } from "./spawner-policy.js";
import { isJsonObject } from "../../json-object.js";

/**
 * A network name (`bridge`, `none`, a user-defined network), or Podman's `slirp4netns` / `pasta` with their
 * `:option=value,…` list (`slirp4netns:allow_host_loopback=true`). Other `<mode>:<value>` forms are refused:
 * `container:<id>` would join another container's network.
 */
const NETWORK_MODE = /^(?:[A-Za-z0-9][A-Za-z0-9_.-]*|(?:slirp4netns|pasta):[A-Za-z0-9_.=,/-]+)$/u;
/** A DNS name or an IPv4 address: what may stand in a URL's host without brackets. */
const HOST_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/u;

/** A policy file the spawner cannot use; the message names the file and the key. */
export class SpawnerPolicyError extends Error {
  override readonly name = "SpawnerPolicyError";
  readonly code = "SPAWNER_POLICY_INVALID";
}

/** Reads a JSON policy file: keys as in `SpawnerPolicy`, absent keys take the defaults, `//…` keys are comments. */
export function loadSpawnerPolicy(path: string): SpawnerPolicy {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new SpawnerPolicyError(`${path}: cannot read the spawner policy: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new SpawnerPolicyError(`${path}: not JSON: ${(error as Error).message}`);
  }
  return parseSpawnerPolicy(json, path);
}

type Reader = (value: unknown, key: string) => unknown;

/** How each key is read; a key not listed here is a typo and refused. */
const READERS: Readonly<Record<keyof SpawnerPolicy, Reader>> = {
  image: imageReference,
  imageAllowList: (value, key) => list(value, key, imageReference),
  imageFilter: (value, key) => (value === null ? null : text(value, key)),
  cpuLimit: (value, key) => number(value, key, 0),
  cpuLimitMax: (value, key) => number(value, key, MIN_CPUS, 1024),
  memLimit: (value, key) => bytes(value, key),
  memLimitMax: (value, key) => bytes(value, key),
  actLimit: (value, key) => integer(value, key, 0),
  actLimitMax: (value, key) => integer(value, key, 1),
  allowUnlimited: boolean,
  defaultUrl: (value, key) => matching(value, key, NOTEBOOK_PATH, "an absolute path such as /lab"),
  baseUid: (value, key) => integer(value, key, 1, MAX_ACCOUNT_ID),
  defaultGroup: (value, key) => matching(value, key, ACCOUNT_NAME, "a group name"),
  teacherGid: (value, key) => integer(value, key, 1, MAX_ACCOUNT_ID),
  teacherGroup: (value, key) => matching(value, key, ACCOUNT_NAME, "a group name"),
  homeTemplate,
  noticeDir: (value, key) => path(value, key, true),
  noticePollSeconds: (value, key) => integer(value, key, 1),
  volumesDir: (value, key) => path(value, key, false),
  notebookPort: (value, key) => integer(value, key, 1, 65535),
  networkMode: (value, key) =>
    matching(value, key, NETWORK_MODE, "a network name, or slirp4netns:/pasta: with options"),
  hubHostAlias: (value, key) =>
    value === null ? null : matching(value, key, HOST_NAME, "a host name or IPv4 address"),
  runAsRoot: boolean,
  privileged: boolean,
  command: (value, key) => {
    const words = list(value, key, text);
    if (words.length === 0) throw new SpawnerPolicyError(`${key} must name a command`);
    return words;
  },
  environment,
};

/** Checks a parsed policy object (`source` names it in errors). */
export function parseSpawnerPolicy(value: unknown, source: string): SpawnerPolicy {
  try {
    if (!isJsonObject(value)) throw new SpawnerPolicyError("the policy must be a JSON object");
    const policy: Record<string, unknown> = { ...DEFAULT_SPAWNER_POLICY };
    for (const [key, entry] of Object.entries(value)) {
      if (key.startsWith("//")) continue;
      const read = READERS[key as keyof SpawnerPolicy] as Reader | undefined;
      if (!read) throw new SpawnerPolicyError(`unknown key ${JSON.stringify(key)}`);
      policy[key] = read(entry, key);
    }
    return checkConsistency(policy as unknown as SpawnerPolicy);
  } catch (error) {
    if (error instanceof SpawnerPolicyError) throw new SpawnerPolicyError(`${source}: ${error.message}`);
    throw error;
  }
}

function checkConsistency(policy: SpawnerPolicy): SpawnerPolicy {
  const unlimited = (key: string) => {
    if (!policy.allowUnlimited)
      throw new SpawnerPolicyError(`${key} is 0 (no limit) but allowUnlimited is false`);
  };
  if (policy.cpuLimit === 0) unlimited("cpuLimit");
  else if (policy.cpuLimit < MIN_CPUS) throw new SpawnerPolicyError(`cpuLimit must be at least ${MIN_CPUS}`);
  if (policy.memLimit === 0) unlimited("memLimit");
  else if (policy.memLimit < MIN_MEMORY)
    throw new SpawnerPolicyError(`memLimit must be at least ${MIN_MEMORY}`);
  if (policy.actLimit === 0) unlimited("actLimit");
  if (policy.memLimitMax < MIN_MEMORY)
    throw new SpawnerPolicyError(`memLimitMax must be at least ${MIN_MEMORY}`);
  for (const [limit, max] of [
    ["cpuLimit", "cpuLimitMax"],
    ["memLimit", "memLimitMax"],
    ["actLimit", "actLimitMax"],
  ] as const) {
    if (policy[limit] > policy[max]) throw new SpawnerPolicyError(`${limit} is above ${max}`);
  }
  return policy;
}

function text(value: unknown, key: string): string {
  if (typeof value !== "string" || value.includes("\0"))
    throw new SpawnerPolicyError(`${key} must be a string`);
  return value;
}

function matching(value: unknown, key: string, shape: RegExp, expected: string): string {
  const string = text(value, key);
  if (!shape.test(string))
    throw new SpawnerPolicyError(`${key} must be ${expected}, not ${JSON.stringify(string)}`);
  return string;
}

function imageReference(value: unknown, key: string): string {
  return matching(value, key, IMAGE_REFERENCE, "an image reference");
}

function list<T>(value: unknown, key: string, read: (item: unknown, key: string) => T): T[] {
  if (!Array.isArray(value)) throw new SpawnerPolicyError(`${key} must be a list`);
  return value.map((item, index) => read(item, `${key}[${index}]`));
}

function boolean(value: unknown, key: string): boolean {
  if (typeof value !== "boolean") throw new SpawnerPolicyError(`${key} must be true or false`);
  return value;
}

function number(value: unknown, key: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    throw new SpawnerPolicyError(`${key} must be a number from ${min} to ${max}`);
  }
  return value;
}

function integer(value: unknown, key: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value)) throw new SpawnerPolicyError(`${key} must be a whole number`);
  return number(value, key, min, max);
}

/** Bytes, as a number or a size with a unit (`"16GiB"`). */
function bytes(value: unknown, key: string): number {
  const size = typeof value === "string" ? parseByteSize(value) : value;
  if (size === undefined)
    throw new SpawnerPolicyError(`${key} must be a number of bytes or a size such as "2GiB"`);
  return integer(size, key, 0);
}

/** A path without `..`, `:` (the bind separator) or unusual characters; absolute or relative as asked. */
function path(value: unknown, key: string, absolute: boolean): string {
  const string = text(value, key);
  const segments = (absolute ? string.slice(1) : string).split("/");
  const valid =
    string.startsWith("/") === absolute &&
    segments.every((segment) => /^[A-Za-z0-9_.@-]+$/u.test(segment) && segment !== "." && segment !== "..");
  if (!valid) {
    throw new SpawnerPolicyError(
      `${key} must be ${absolute ? "an absolute" : "a relative"} path of plain names, not ${JSON.stringify(string)}`,
    );
  }
  return string;
}

/** An absolute path in which `{groupname}` and `{username}` stand for whole or partial segments. */
function homeTemplate(value: unknown, key: string): string {
  const template = text(value, key);
  if (!template.includes("{username}")) throw new SpawnerPolicyError(`${key} must contain {username}`);
  path(template.replaceAll("{groupname}", "group").replaceAll("{username}", "user"), key, true);
  return template;
}

/** Merged over the default environment; `null` removes a default variable. */
function environment(value: unknown, key: string): Record<string, string> {
  if (!isJsonObject(value)) throw new SpawnerPolicyError(`${key} must be an object of variables`);
  const merged: Record<string, string> = { ...DEFAULT_SPAWNER_POLICY.environment };
  for (const [name, entry] of Object.entries(value)) {
    if (!ENVIRONMENT_NAME.test(name)) {
      throw new SpawnerPolicyError(`${key}: ${JSON.stringify(name)} is not a variable name`);
    }
    if (POLICY_VARIABLES_THE_PLAN_SETS.has(name)) {
      throw new SpawnerPolicyError(`${key}: ${name} is set by the plan, not by the policy`);
    }
    if (entry === null) delete merged[name];
    else merged[name] = text(entry, `${key}.${name}`);
  }
  return merged;
}
