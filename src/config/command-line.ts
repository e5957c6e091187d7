import { Command, InvalidArgumentError, Option } from "commander";
import { readConfigFile, readEnvConfig } from "./config-file.js";
import { isLegacyInvocation, translateLegacyArgs } from "./legacy-ltictr.js";
import { OPTIONS, type OptionName, type OptionSpec, type OptionValues } from "./options.js";

export interface CommandLine {
  values: OptionValues;
  /** The environment the proxy runs with: the process's, plus secrets from a config file or a legacy .conf. */
  env: NodeJS.ProcessEnv;
  /** Notes for the operator, logged once the logger exists. */
  warnings: string[];
}

/** Config-file and environment keys that are secrets, carried in the environment rather than as options. */
const SECRET_VARIABLES: Partial<Record<OptionName, string>> = {
  authToken: "CONFIGPROXY_AUTH_TOKEN",
  moodleToken: "LTICTR_MOODLE_TOKEN",
};

/** Keys that only the C proxy's `.conf` has; the Moodle sender uses Moodle's fixed REST path and function. */
const IGNORED_KEYS = new Set<OptionName>(["restPath", "restService"]);

function integerParser(spec: OptionSpec) {
  const min = spec.min ?? 0;
  const max = spec.max ?? Number.MAX_SAFE_INTEGER;
  return (value: string): number => {
    const n = Number(value);
    if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}.`);
    }
    return n;
  };
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** One commander option from its table entry. */
function commanderOption(name: string, spec: OptionSpec): Option | undefined {
  if (!spec.flag) return undefined;
  const flag = spec.negatable ? `--no-${spec.flag.slice(2)}` : spec.flag;
  const option = new Option(spec.placeholder ? `${flag} ${spec.placeholder}` : flag, spec.help);
  if (spec.type === "integer" || spec.type === "port") option.argParser(integerParser(spec));
  if (spec.type === "list") option.argParser(collect);
  if (spec.choices) option.choices(spec.choices);
  if (spec.conflicts) option.conflicts([...spec.conflicts]);
  if (spec.default !== undefined && !spec.negatable)
    option.default(Array.isArray(spec.default) ? [...spec.default] : spec.default);
  if (option.attributeName() !== name) throw new Error(`option table: ${flag} is not named ${name}`);
  return option;
}

/** The command line as commander parses it: every option of the table that has a flag, with CHP's wording. */
export function buildCommand(version: string): Command {
  const program = new Command("ltictr-proxy")
    .version(version, "-V, --version")
    .description(
      "A reverse proxy for JupyterHub, configurable over a REST API like configurable-http-proxy, that reports\n" +
        "Jupyter code-cell results to Moodle's mod_lticontainer.",
    )
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) })
    .option("--config <file>", "Configuration file (JSON, or the C ltictr_proxy's .conf format)");
  for (const [name, spec] of Object.entries(OPTIONS) as Array<[string, OptionSpec]>) {
    const option = commanderOption(name, spec);
    if (option) program.addOption(option);
  }
  return program;
}

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
  const layers: Array<[OptionValues, "config" | "env"]> = [
    [configPath ? readConfigFile(configPath, { warn }) : {}, "config"],
    [readEnvConfig(env, { warn }), "env"],
  ];
  for (const [values, source] of layers) {
    for (const [key, value] of Object.entries(values) as Array<[OptionName, unknown]>) {
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
  const { config: _config, ...values } = program.opts<OptionValues & { config?: string }>();
  return { values, env: runEnv, warnings };
}
