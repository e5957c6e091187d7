import { statSync } from "node:fs";
import type { HostFiles } from "../plan/mounts.js";

/** The local file system. */
export const localHostFiles: HostFiles = {
  isFile: (path) => statSync(path, { throwIfNoEntry: false })?.isFile() ?? false,
};
