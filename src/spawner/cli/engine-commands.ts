import { Command, CommanderError, Option } from "commander";
import { courseVolumeName, type CourseVolumeRole } from "../course-volume-name.js";
import { createCourseVolume, listCourseVolumes, removeCourseVolume } from "../engine/course-volumes.js";
import { EngineClient } from "../engine/engine-client.js";
import { EngineError } from "../engine/engine-errors.js";
import { listImages } from "../engine/images.js";

export interface CommandOutput {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const DEFAULT_ENGINE_SOCKET = "/var/run/docker.sock";

/** Roles by the names an operator may give: the role itself or its prefix in volume names. */
const ROLES: Readonly<Record<string, CourseVolumeRole>> = {
  task: "task",
  vol: "task",
  submit: "submit",
  sub: "submit",
  personal: "personal",
  prs: "personal",
};

/** A mistake in the command line found after commander parsed it. */
class UsageError extends Error {}

interface EngineOptions {
  engineSocket: string;
  json?: boolean;
}

interface VolumeOptions extends EngineOptions {
  course?: string;
  host?: string;
  role?: string;
  name?: string;
}

/**
 * `ltictr-proxy spawner images|volumes …` (`argv` is what follows `spawner`): the operator's view of the
 * container engine the spawner uses, in place of mod_lticontainer's docker/podman command lines.
 *
 *   images [--filter <tokens>]                       images, through mod_lticontainer's name filter
 *   volumes list --course <id> --host <host>         a course's volumes with their roles and short names
 *   volumes create|remove <volume name>              one course volume, by its full name
 *   volumes create|remove --course <id> --host <host> --role <task|submit|personal> --name <name>
 *
 * Each takes `--engine-socket <path>` (default /var/run/docker.sock) and `--json`. Resolves with the exit
 * code: 0, or 1 after one line on stderr for a bad command line, a refused name or an unreachable engine.
 */
export async function runEngineCommand(argv: string[], io: CommandOutput): Promise<number> {
  const program = new Command("ltictr-proxy spawner")
    .description("Container images and course volumes on the spawner's Docker/Podman engine")
    .usage("images|volumes [options]")
    .argument("[command]")
    .action((command?: string) => {
      throw new UsageError(
        command === undefined
          ? "missing command: images or volumes"
          : `unknown command ${JSON.stringify(command)}`,
      );
    });

  withEngineOptions(program.command("images"))
    .description("List the engine's images (one line per tag)")
    .option(
      "--filter <tokens>",
      "mod_lticontainer's filter: substrings, comma or space separated; -x excludes",
    )
    .action(async (options: EngineOptions & { filter?: string }) => {
      const images = await withEngine(options, (client) => listImages(client, options.filter));
      if (options.json) io.stdout(`${JSON.stringify(images, null, 2)}\n`);
      else {
        io.stdout(
          table([
            ["NAME", "ID", "SIZE"],
            ...images.map((i) => [i.name, i.id.replace(/^sha256:/, "").slice(0, 12), megabytes(i.sizeBytes)]),
          ]),
        );
      }
    });

  const volumes = program
    .command("volumes")
    .description("List, create and remove course volumes (lms_(vol|sub|prs)_<name>_<course>_<host>)")
    .usage("list|create|remove [options]")
    .argument("[action]")
    .action((action?: string) => {
      throw new UsageError(
        action === undefined
          ? "missing volumes action: list, create or remove"
          : `unknown volumes action ${JSON.stringify(action)}`,
      );
    });

  withEngineOptions(volumes.command("list"))
    .description("List a course's volumes on the engine")
    .requiredOption("--course <id>", "Moodle course ID")
    .requiredOption("--host <host>", "Moodle host name")
    .action(async (options: EngineOptions & { course: string; host: string }) => {
      const found = await withEngine(options, (client) => listCourseVolumes(client, options));
      if (options.json) io.stdout(`${JSON.stringify(found, null, 2)}\n`);
      else
        io.stdout(
          table([["NAME", "ROLE", "SHORT NAME"], ...found.map((v) => [v.name, v.role, v.shortName])]),
        );
    });

  withVolumeOptions(volumes.command("create"))
    .description("Create a course volume")
    .action(async (name: string | undefined, options: VolumeOptions) => {
      const volume = await withEngine(options, (client) =>
        createCourseVolume(client, volumeName(name, options)),
      );
      io.stdout(options.json ? `${JSON.stringify(volume, null, 2)}\n` : `created ${volume.name}\n`);
    });

  withVolumeOptions(volumes.command("remove"))
    .description("Remove a course volume and its files")
    .action(async (name: string | undefined, options: VolumeOptions) => {
      const removed = volumeName(name, options);
      await withEngine(options, (client) => removeCourseVolume(client, removed));
      io.stdout(options.json ? `${JSON.stringify({ removed })}\n` : `removed ${removed}\n`);
    });

  for (const command of [program, ...program.commands, ...volumes.commands]) {
    command
      .exitOverride()
      .allowExcessArguments(false)
      .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  }

  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 1; // commander wrote its line
    if (error instanceof UsageError || error instanceof EngineError) {
      io.stderr(`error: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

function withEngineOptions(command: Command): Command {
  return command
    .option(
      "--engine-socket <path>",
      "The Engine API's UNIX socket (Docker or `podman system service`)",
      DEFAULT_ENGINE_SOCKET,
    )
    .option("--json", "Print JSON");
}

function withVolumeOptions(command: Command): Command {
  return withEngineOptions(command)
    .argument("[name]", "The full volume name, lms_(vol|sub|prs)_<name>_<course>_<host>")
    .option("--course <id>", "Moodle course ID")
    .option("--host <host>", "Moodle host name")
    .addOption(new Option("--role <role>", "The volume's role").choices(Object.keys(ROLES)))
    .option("--name <name>", "The volume's short name (lower-case letters and digits)");
}

/** The full name from the argument, or from the four parts; never both, never part of them. */
function volumeName(name: string | undefined, options: VolumeOptions): string {
  const { course, host, role, name: shortName } = options;
  const parts = [course, host, role, shortName];
  if (name !== undefined && parts.every((p) => p === undefined)) return name;
  if (
    name === undefined &&
    course !== undefined &&
    host !== undefined &&
    role !== undefined &&
    shortName !== undefined
  ) {
    return courseVolumeName({ role: ROLES[role] as CourseVolumeRole, shortName, course, host }).name;
  }
  throw new UsageError("give either a volume name or all of --course, --host, --role and --name");
}

async function withEngine<T>(options: EngineOptions, call: (client: EngineClient) => Promise<T>): Promise<T> {
  const client = new EngineClient({ socketPath: options.engineSocket });
  try {
    return await call(client);
  } finally {
    await client.close();
  }
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  return rows
    .map(
      (row) =>
        row
          .map((cell, column) => cell.padEnd(widths[column] ?? 0))
          .join("  ")
          .trimEnd() + "\n",
    )
    .join("");
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}
