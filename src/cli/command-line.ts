import { isLegacyInvocation, translateLegacyArgs } from "../config/legacy-ltictr.js";
import { readConfigFile, readEnvConfig, type ConfigValues } from "../config/config-file.js";
import { buildCommand, type CliOptions } from "./options.js";

export interface CommandLine {
  options: CliOptions;
  /** The environment the proxy runs with: the process's, plus secrets from a config file or a legacy .conf. */
  env: NodeJS.ProcessEnv;
  /** Notes for the operator, logged once the logger exists. */
  warnings: string[];
}

/** Config-file and environment keys that are secrets, carried in the environment rather than as options. */
const SECRET_VARIABLES: Partial<Record<keyof ConfigValues, string>> = {
  authToken: "CONFIGPROXY_AUTH_TOKEN",
  moodleToken: "LTICTR_MOODLE_TOKEN",
};

/** Keys that only the C proxy's `.conf` has; the Moodle sender uses Moodle's fixed REST path and function. */
const IGNORED_KEYS = new Set(["restPath", "restService"]);

/**
 * Resolves the command line: a C `ltictr_proxy_server` invocation is translated first; then flags win over
 * `LTICTR_*` environment variables, which win over the `--config` file, which wins over the defaults.
 * Throws CommanderError or ConfigError.
 */
export function parseCommandLine(
  argv: string[],
  env: NodeJS.ProcessEnv,
  version: string,
  programName?: string,
): CommandLine {
  const warnings: string[] = [];
  const runEnv: NodeJS.ProcessEnv = { ...env };
  let args = argv;
  if (isLegacyInvocation(argv, programName)) {
    const translation = translateLegacyArgs(argv, env);
    args = translation.args;
    warnings.push(
      "Started with ltictr_proxy_server flags; translated to: " + args.join(" "),
      ...translation.warnings,
    );
    for (const [name, value] of Object.entries(translation.env)) runEnv[name] ??= value;
  }
  const program = buildCommand(version);
  program.parse(args, { from: "user" });

  const warn = (message: string) => warnings.push(message);
  const configPath = program.getOptionValue("config") as string | undefined;
  const layers: Array<[ConfigValues, "config" | "env"]> = [
    [configPath ? readConfigFile(configPath, { warn }) : {}, "config"],
    [readEnvConfig(env, { warn }), "env"],
  ];
  for (const [values, source] of layers) {
    for (const [key, value] of Object.entries(values) as Array<[keyof ConfigValues, unknown]>) {
      const secretVariable = SECRET_VARIABLES[key];
      if (secretVariable) {
        if (source === "config" && !env[secretVariable]) runEnv[secretVariable] = String(value);
        continue;
      }
      if (IGNORED_KEYS.has(key)) {
        warnings.push(
          `${key} is not used: records go to <moodle>/webservice/rest/server.php, mod_lticontainer_write_nblogs`,
        );
        continue;
      }
      if (program.getOptionValueSource(key) !== "cli") program.setOptionValueWithSource(key, value, source);
    }
  }
  return { options: program.opts<CliOptions>(), env: runEnv, warnings };
}
