import type { SpawnerPolicy } from "../policy/spawner-policy.js";
import { SpawnRequestInvalid } from "./spawn-request.js";

/** JupyterHub's URLs the single-user server calls back on: they must name the Hub as the container sees it. */
const HUB_URL_VARIABLES = ["JUPYTERHUB_API_URL", "JUPYTERHUB_ACTIVITY_URL"] as const;

/**
 * JupyterHub's environment as the container needs it. JupyterHub writes it for a server on its own host:
 * - `JUPYTERHUB_SERVICE_URL`, where the single-user server binds, names the spawner's `ip:port`; in the
 *   container the server listens on every interface at the policy's notebook port (the port published on
 *   127.0.0.1), so its host and port become `0.0.0.0:<notebookPort>`, path kept;
 * - the Hub's API and activity URLs name the Hub as the Hub's host sees it; with the policy's `hubHostAlias`
 *   their host is replaced by the name the container reaches the Hub under (port and path kept).
 * Other variables are passed on as they are.
 */
export function containerHubEnvironment(
  environment: Readonly<Record<string, string>>,
  policy: SpawnerPolicy,
): Record<string, string> {
  const result = { ...environment };
  const serviceUrl = environment.JUPYTERHUB_SERVICE_URL;
  if (serviceUrl !== undefined) {
    const url = parseUrl(serviceUrl, "JUPYTERHUB_SERVICE_URL");
    url.hostname = "0.0.0.0";
    url.port = String(policy.notebookPort);
    result.JUPYTERHUB_SERVICE_URL = url.href;
  }
  if (policy.hubHostAlias !== null) {
    for (const name of HUB_URL_VARIABLES) {
      const value = environment[name];
      if (value === undefined) continue;
      const url = parseUrl(value, name);
      url.hostname = policy.hubHostAlias;
      result[name] = url.href;
    }
  }
  return result;
}

function parseUrl(value: string, name: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new SpawnRequestInvalid(`environment.${name}`, "is not a URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new SpawnRequestInvalid(`environment.${name}`, "is not an http(s) URL");
  }
  return url;
}
