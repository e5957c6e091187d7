import t from "tap";
import { runJupyterHubScenario } from "./jupyterhub-scenario.js";

// JupyterHub 3.0 starts the proxy itself (`c.ConfigurableHTTPProxy.command`) and appends CHP's flags.
await runJupyterHubScenario(t, "hub-starts-proxy");
