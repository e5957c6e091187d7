import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { loadHostAccounts } from "../host/host-accounts.js";
import { localHostFiles } from "../host/host-files.js";
import { planContainer } from "../plan/plan-container.js";
import { loadSpawnerPolicy } from "../policy/load-spawner-policy.js";
import { DEFAULT_SPAWNER_POLICY } from "../policy/spawner-policy.js";
import { readLaunchText } from "./launch-file.js";

export interface PlanCommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  stdin: () => Promise<string>;
}

/**
 * `ltictr-proxy spawner plan --user <name> --launch <file|-> [--policy <file>]` (`argv` = the words after
 * `spawner plan`): prints `{"name", "create", "hostDirectories"}`, the container LTIContainerSpawner would
 * create for that launch, with the host's accounts and notice files. Exit 0; 1 with one line on stderr when the
 * launch, the policy or the command line cannot be used. Nothing is created.
 */
export async function runPlanCommand(argv: string[], io: PlanCommandIo): Promise<number> {
  const command = new Command("ltictr-proxy spawner plan")
    .description("Print the container plan for an LTI launch (nothing is created)")
    .requiredOption("--user <name>", "The JupyterHub user name")
    .requiredOption(
      "--launch <file>",
      "The launch: Moodle's form body or a JSON object of parameters; - = stdin",
    )
    .option("--policy <file>", "The spawner policy (JSON); defaults to LTIContainerSpawner's settings")
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  try {
    command.parse(argv, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 1;
    throw error;
  }
  const options = command.opts<{ user: string; launch: string; policy?: string }>();
  try {
    const launchText = options.launch === "-" ? await io.stdin() : readLaunchFile(options.launch);
    const plan = planContainer({
      parameters: readLaunchText(launchText),
      userName: options.user,
      policy: options.policy ? loadSpawnerPolicy(options.policy) : DEFAULT_SPAWNER_POLICY,
      accounts: loadHostAccounts(),
      hostFiles: localHostFiles,
      now: Date.now,
    });
    io.stdout(`${JSON.stringify(plan, null, 2)}\n`);
    return 0;
  } catch (error) {
    io.stderr(`error: ${(error as Error).message.split("\n")[0]}\n`);
    return 1;
  }
}

function readLaunchFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new Error(`cannot read the launch ${path}: ${(error as Error).message}`);
  }
}
