import { randomInt } from "node:crypto";
import { DOCKER_NAME_PART } from "./names.js";

export interface ContainerNameParts {
  courseId: string;
  ltiId: string;
  host: string;
  /** 8 random letters and digits, so a new container never collides with one still being removed. */
  suffix: string;
  userName: string;
  /** The launch chose an image other than the policy's default. */
  imageChanged: boolean;
}

/**
 * `jupyterhub-<course>-<LTI id>-<host>-<suffix>-<user>`. The user part is the user name as it is, except when
 * the launch changed the image (DockerSpawner then renders the name again from its template, with the escaped
 * user name) or when the name has characters Docker refuses in container names (an `@`).
 */
export function containerName(parts: ContainerNameParts): string {
  const user =
    parts.imageChanged || !DOCKER_NAME_PART.test(parts.userName)
      ? escapeUserName(parts.userName)
      : parts.userName;
  const name = `jupyterhub-${parts.courseId}-${parts.ltiId}-${parts.host}-${parts.suffix}-${user}`;
  if (!DOCKER_NAME_PART.test(name))
    throw new Error(`the container name ${JSON.stringify(name)} is not valid`);
  return name;
}

/**
 * DockerSpawner's escaping: characters other than `a-z` and `0-9` become `-` and the hex of each of their
 * UTF-8 bytes, then the whole is lower-cased (`s.tanaka` → `s-2etanaka`, `Taro` → `-54aro`).
 */
export function escapeUserName(name: string): string {
  let escaped = "";
  for (const character of name) {
    if (/^[a-z0-9]$/u.test(character)) escaped += character;
    else {
      for (const byte of Buffer.from(character, "utf8")) escaped += `-${byte.toString(16).padStart(2, "0")}`;
    }
  }
  return escaped.toLowerCase();
}

const SUFFIX_CHARACTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

export function randomNameSuffix(): string {
  let suffix = "";
  for (let i = 0; i < 8; i++) suffix += SUFFIX_CHARACTERS[randomInt(SUFFIX_CHARACTERS.length)];
  return suffix;
}
