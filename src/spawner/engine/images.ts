import type { EngineClient } from "./engine-client.js";
import { IMAGE_REFERENCE } from "../plan/names.js";
import { InvalidNameError } from "./engine-errors.js";
import { engineRefused } from "./engine-response.js";
import { imageMatchesFilter, parseImageFilter, type ImageFilter } from "../policy/image-filter.js";

/** An image as an operator chooses it: one entry per tag, like `docker images`. */
export interface EngineImage {
  /** `repository:tag`; an untagged image is named by its 12-character short ID. */
  name: string;
  /** The full image ID (`sha256:…`). */
  id: string;
  /** Seconds since the epoch. */
  created: number;
  sizeBytes: number;
}

interface ImageSummary {
  Id?: unknown;
  RepoTags?: unknown;
  Created?: unknown;
  Size?: unknown;
}

/**
 * The engine's images (`GET /images/json`), sorted by name, kept if they pass `filter` (mod_lticontainer's
 * include/exclude tokens, see image-filter.ts; a string is parsed first).
 */
export async function listImages(
  client: EngineClient,
  filter?: ImageFilter | string,
): Promise<EngineImage[]> {
  const response = await client.request({ method: "GET", path: "/images/json" });
  if (response.status !== 200 || !Array.isArray(response.body)) {
    throw engineRefused("list images", response);
  }
  const parsedFilter = typeof filter === "string" ? parseImageFilter(filter) : filter;
  const images = (response.body as ImageSummary[]).flatMap(imageEntries);
  return images
    .filter((image) => parsedFilter === undefined || imageMatchesFilter(image.name, parsedFilter))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function imageEntries(summary: ImageSummary): EngineImage[] {
  const id = typeof summary.Id === "string" ? summary.Id : "";
  const base = {
    id,
    created: typeof summary.Created === "number" ? summary.Created : 0,
    sizeBytes: typeof summary.Size === "number" ? summary.Size : 0,
  };
  const tags = Array.isArray(summary.RepoTags)
    ? summary.RepoTags.filter((tag): tag is string => typeof tag === "string" && tag !== "<none>:<none>")
    : [];
  if (tags.length > 0) return tags.map((name) => ({ name, ...base }));
  return [{ name: id.replace(/^sha256:/, "").slice(0, 12), ...base }];
}

/**
 * Whether the engine has the image `reference` (`GET /images/<reference>/json`), asked before anything is
 * created for a container of it. The reference is checked first; Docker and Podman read it unescaped in the
 * path, `/` and `:` included.
 */
export async function imageExists(client: EngineClient, reference: string): Promise<boolean> {
  if (!IMAGE_REFERENCE.test(reference) || reference.includes("..")) {
    throw new InvalidNameError(`invalid image reference ${JSON.stringify(reference)}`);
  }
  const response = await client.request({ method: "GET", path: `/images/${reference}/json` });
  if (response.status === 200) return true;
  if (response.status === 404) return false;
  throw engineRefused(`inspect image ${JSON.stringify(reference)}`, response);
}
