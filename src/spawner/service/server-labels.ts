/**
 * The labels that mark a container as the spawner's, for one JupyterHub user's server: poll and stop act only
 * on containers that carry the labels of the server they name, and a start removes what an earlier start of
 * the same server left behind.
 */
export const USER_LABEL = "ltictr-proxy.user";
export const SERVER_LABEL = "ltictr-proxy.server";

export function serverLabels(user: string, server: string): Record<string, string> {
  return { [USER_LABEL]: user, [SERVER_LABEL]: server };
}

/** The container named in a poll or stop is not that user's server. */
export class ContainerNotOwned extends Error {
  override readonly name = "ContainerNotOwned";
  readonly code = "CONTAINER_NOT_OWNED";

  constructor(container: string, user: string, server: string) {
    super(
      `container ${JSON.stringify(container)} is not the spawner's container of user ${JSON.stringify(user)}, server ${JSON.stringify(server)}`,
    );
  }
}

export function checkOwner(
  container: string,
  labels: Readonly<Record<string, string>>,
  user: string,
  server: string,
): void {
  if (labels[USER_LABEL] !== user || labels[SERVER_LABEL] !== server) {
    throw new ContainerNotOwned(container, user, server);
  }
}
