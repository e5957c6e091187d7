/**
 * A problem in the operator's configuration (flags, environment, config file, certificate files). The CLI prints
 * `message` as a single stderr line and exits 1, so the message must name the offending option or file.
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}
