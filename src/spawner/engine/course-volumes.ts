import { VolumeInUseError, VolumeNotFoundError } from "./engine-errors.js";
import type { EngineClient } from "./engine-client.js";
import { engineRefused } from "./engine-response.js";
import {
  belongsToScope,
  checkScope,
  parseCourseVolumeName,
  type CourseVolumeName,
} from "../course-volume-name.js";

/** A course volume on the engine. */
export interface CourseVolume extends CourseVolumeName {
  /** The volume driver (`local`). */
  driver: string;
  /** When the engine created it (RFC 3339), if it says. */
  createdAt: string | undefined;
}

interface VolumeSummary {
  Name?: unknown;
  Driver?: unknown;
  CreatedAt?: unknown;
}

/**
 * Creates the named course volume (`POST /volumes/create`, driver `local`); for an existing name, Docker and
 * Podman return that volume unchanged. The name is checked before any call.
 */
export async function createCourseVolume(client: EngineClient, name: string): Promise<CourseVolume> {
  const parsed = parseCourseVolumeName(name);
  const response = await client.request({ method: "POST", path: "/volumes/create", body: { Name: name } });
  if (response.status === 200 || response.status === 201) return withDetails(parsed, response.body);
  throw engineRefused(`create volume ${JSON.stringify(name)}`, response);
}

/** The course volumes of `course` on `host` (`GET /volumes`), by name; other volumes are left out. */
export async function listCourseVolumes(
  client: EngineClient,
  scope: { course: string; host: string },
): Promise<CourseVolume[]> {
  checkScope(scope.course, scope.host);
  return (await listAllCourseVolumes(client)).filter((volume) =>
    belongsToScope(volume, scope.course, scope.host),
  );
}

/** Every course volume on the engine, of any course and host, by name; other volumes are left out. */
export async function listAllCourseVolumes(client: EngineClient): Promise<CourseVolume[]> {
  const response = await client.request({ method: "GET", path: "/volumes" });
  const volumes = (response.body as { Volumes?: unknown } | undefined)?.Volumes;
  if (response.status !== 200 || !(volumes === null || Array.isArray(volumes))) {
    throw engineRefused("list volumes", response);
  }
  const found: CourseVolume[] = [];
  for (const summary of (volumes ?? []) as VolumeSummary[]) {
    if (typeof summary.Name !== "string") continue;
    let parsed: CourseVolumeName;
    try {
      parsed = parseCourseVolumeName(summary.Name);
    } catch {
      continue; // not a course volume
    }
    found.push(withDetails(parsed, summary));
  }
  return found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Removes the named course volume and its files (`DELETE /volumes/<name>`); refused while a container uses it.
 * The name is checked before any call.
 */
export async function removeCourseVolume(client: EngineClient, name: string): Promise<void> {
  parseCourseVolumeName(name);
  const response = await client.request({ method: "DELETE", path: `/volumes/${encodeURIComponent(name)}` });
  if (response.status === 204 || response.status === 200) return;
  if (response.status === 404) throw new VolumeNotFoundError(name, response.status);
  if (response.status === 409) throw new VolumeInUseError(name, response.status);
  throw engineRefused(`remove volume ${JSON.stringify(name)}`, response);
}

function withDetails(parsed: CourseVolumeName, body: unknown): CourseVolume {
  const summary = (typeof body === "object" && body !== null ? body : {}) as VolumeSummary;
  return {
    ...parsed,
    driver: typeof summary.Driver === "string" ? summary.Driver : "local",
    createdAt: typeof summary.CreatedAt === "string" ? summary.CreatedAt : undefined,
  };
}
