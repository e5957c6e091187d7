import type { SpawnerPolicy } from "../policy/spawner-policy.js";
import { LaunchRefused, quoted } from "./launch-refused.js";
import { IMAGE_REFERENCE } from "./names.js";
import type { LaunchValue } from "./parameter-dispatch.js";

/** The container's image, and whether the launch chose one other than the policy's default. */
export interface ImageChoice {
  image: string;
  changed: boolean;
}

/**
 * The image a launch names, or the policy's. mod_lticontainer lists images as `docker images` shows them, which
 * older Docker versions render `repo : tag`; spaces are dropped, as LTIContainerSpawner does. Anything else that
 * is not an image reference is refused, and so is an image outside the policy's allow-list and name filter.
 */
export function chooseImage(requested: LaunchValue | undefined, policy: SpawnerPolicy): ImageChoice {
  const image = requested?.value.replaceAll(" ", "") ?? "";
  if (!requested || image === "") return { image: policy.image, changed: false };
  if (!IMAGE_REFERENCE.test(image)) {
    throw new LaunchRefused(
      "LAUNCH_UNSAFE_VALUE",
      requested.field,
      `${quoted(requested.value)} is not an image name`,
    );
  }
  if (!isImageAllowed(image, policy)) {
    throw new LaunchRefused(
      "LAUNCH_IMAGE_NOT_ALLOWED",
      requested.field,
      `the image ${quoted(image)} is not allowed by the spawner policy`,
    );
  }
  return { image, changed: image !== policy.image };
}

export function isImageAllowed(image: string, policy: SpawnerPolicy): boolean {
  if (image === policy.image || policy.imageAllowList.includes(image)) return true;
  return policy.imageFilter !== null && matchesImageFilter(image, policy.imageFilter);
}

/**
 * mod_lticontainer's image name filter with its token rules, matched as plain substrings (mod_lticontainer
 * used each token as an unescaped regular expression): every plain token must occur, no `-token` may occur; a
 * `*` (or a bare `-`) token decides at once — it matches every image as an inclusion and excludes every image as
 * an exclusion.
 */
export function matchesImageFilter(image: string, filter: string): boolean {
  const tokens = filter
    .replaceAll(",", " ")
    .split(/\s+/u)
    .filter((token) => token !== "");
  const includes = tokens.filter((token) => !token.startsWith("-"));
  const excludes = tokens.filter((token) => token.startsWith("-")).map((token) => token.slice(1));
  return containsAll(image, includes) && !containsAny(image, excludes);
}

function containsAll(image: string, tokens: string[]): boolean {
  for (const token of tokens) {
    if (token === "*") return true;
    if (!image.includes(token)) return false;
  }
  return true;
}

function containsAny(image: string, tokens: string[]): boolean {
  return tokens.some((token) => token === "" || token === "*" || image.includes(token));
}
