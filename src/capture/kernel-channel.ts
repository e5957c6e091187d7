/** What a kernel channel upgrade URL tells the capture. */
export interface KernelChannel {
  kernelId: string;
  /** The `session_id` query parameter (URL-decoded): the browser's client session, the records' join key. */
  sessionId: string | undefined;
}

/**
 * jupyter_server's route is `/api/kernels/<kernel_id>/channels` with `kernel_id = \w+-\w+-\w+-\w+-\w+`;
 * whatever precedes it (JupyterHub's `/user/<name>[/<server>]`, a base_url) does not matter.
 */
const CHANNELS_PATH = /\/api\/kernels\/(\w+-\w+-\w+-\w+-\w+)\/channels$/;

/** Parses a request URL (origin-form or absolute-form); anything that is not a kernel channel is undefined. */
export function parseKernelChannelUrl(url: string): KernelChannel | undefined {
  const withoutOrigin = url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, "");
  const queryAt = withoutOrigin.search(/[?#]/);
  const path = queryAt < 0 ? withoutOrigin : withoutOrigin.slice(0, queryAt);
  const match = CHANNELS_PATH.exec(path);
  if (!match) return undefined;
  const query =
    queryAt < 0 || withoutOrigin[queryAt] === "#" ? "" : withoutOrigin.slice(queryAt + 1).split("#")[0]!;
  const sessionId = new URLSearchParams(query).get("session_id") ?? undefined;
  return { kernelId: match[1]!, sessionId: sessionId === "" ? undefined : sessionId };
}
