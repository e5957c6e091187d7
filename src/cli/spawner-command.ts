import { runEngineCommand } from "../spawner/cli/engine-commands.js";
import { runPlanCommand } from "../spawner/cli/plan-command.js";

/** Reads all of standard input (a launch given as `--launch -`). */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

const io = {
  stdout: (text: string) => void process.stdout.write(text),
  stderr: (text: string) => void process.stderr.write(text),
  stdin: readStdin,
};

/** `ltictr-proxy spawner <plan|images|volumes> …`: the spawner companion's operator commands. */
export async function spawnerCommand(argv: string[]): Promise<number> {
  const [subcommand, ...rest] = argv;
  switch (subcommand) {
    case "plan":
      return runPlanCommand(rest, io);
    case "images":
    case "volumes":
      return runEngineCommand(argv, io);
    default:
      io.stderr(
        `error: ltictr-proxy spawner: unknown command '${subcommand ?? ""}' (plan, images, volumes)\n`,
      );
      return 1;
  }
}
