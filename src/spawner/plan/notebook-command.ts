import type { SpawnerPolicy } from "../policy/spawner-policy.js";
import { WORK_SUBDIR } from "./identity.js";

export interface CommandInput {
  /** JupyterHub's `Spawner.cmd`; the policy's command when JupyterHub sets none. */
  hubCommand?: readonly string[];
  /** JupyterHub's `Spawner.args`. */
  hubArgs?: readonly string[];
  defaultUrl: string;
  policy: SpawnerPolicy;
}

const TORNADO_SETTINGS = "--ServerApp.tornado_settings";

/**
 * The container's command: the command, JupyterHub's arguments (without tornado settings, which the plan
 * sets), then the start page, hidden files shown (the volume links live in `.volumes`), and the settings of
 * the notice extension. The image's start script splits the command line at spaces, so the JSON is compact.
 */
export function notebookCommand({ hubCommand, hubArgs = [], defaultUrl, policy }: CommandInput): string[] {
  const notice = {
    page_config_data: {
      jnotice: {
        path: `${WORK_SUBDIR}/.jnotice.txt`,
        stickyPath: `${WORK_SUBDIR}/.jnotice.sticky.txt`,
        pollMs: policy.noticePollSeconds * 1000,
      },
    },
  };
  return [
    ...(hubCommand ?? policy.command),
    ...hubArgs.filter((arg) => !arg.startsWith(TORNADO_SETTINGS)),
    `--SingleUserNotebookApp.default_url=${defaultUrl}`,
    "--ContentsManager.allow_hidden=True",
    "--ServerApp.allow_hidden=True",
    `${TORNADO_SETTINGS}=${JSON.stringify(notice)}`,
  ];
}
