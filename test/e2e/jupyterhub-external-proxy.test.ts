import t from "tap";
import { runJupyterHubScenario } from "./jupyterhub-scenario.js";

// The proxy runs on its own; JupyterHub 3.0 only talks to its API (`should_start = False`).
await runJupyterHubScenario(t, "external-proxy");
