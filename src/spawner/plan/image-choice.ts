import { imageMatchesFilter, parseImageFilter } from "../policy/image-filter.js";
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
  return policy.imageFilter !== null && imageMatchesFilter(image, parseImageFilter(policy.imageFilter));
}
