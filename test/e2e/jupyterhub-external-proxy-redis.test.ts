import t from "tap";
import { RedisServer } from "../support/redis-server.js";
import { runJupyterHubScenario } from "./jupyterhub-scenario.js";

// The proxy as two replicas sharing one route table in Redis: JupyterHub 3.0 registers routes through one
// replica's API, and the user is served (login, spawn, kernel, activity) through the other one.
const redis = await RedisServer.start(t);
await runJupyterHubScenario(t, "external-proxy", { sharedStore: redis.url() });
