import { readFileSync } from "node:fs";
import { ConfigError } from "./config-error.js";

/** The contents of a file an option names; a file that cannot be read is a configuration error naming the option. */
export function readOptionFile(option: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new ConfigError(`${option}: cannot read ${file}: ${(error as Error).message}`);
  }
}
