import t from "tap";
import { DEFAULT_SPAWNER_POLICY } from "../../../src/spawner/policy/spawner-policy.js";
import { containerHubEnvironment } from "../../../src/spawner/service/container-environment.js";

const HUB = {
  JUPYTERHUB_API_TOKEN: "token",
  JUPYTERHUB_API_URL: "http://127.0.0.1:8081/hub/api",
  JUPYTERHUB_ACTIVITY_URL: "http://127.0.0.1:8081/hub/api/users/alice/activity",
  JUPYTERHUB_SERVICE_URL: "http://127.0.0.1:0/user/alice/",
  JUPYTERHUB_BASE_URL: "/",
};

t.test("the server binds every interface at the notebook port; Hub URLs as configured", async (t) => {
  t.same(containerHubEnvironment(HUB, DEFAULT_SPAWNER_POLICY), {
    ...HUB,
    JUPYTERHUB_SERVICE_URL: "http://0.0.0.0:8888/user/alice/",
  });
  t.same(
    containerHubEnvironment(HUB, { ...DEFAULT_SPAWNER_POLICY, notebookPort: 9999 }).JUPYTERHUB_SERVICE_URL,
    "http://0.0.0.0:9999/user/alice/",
  );
});

t.test(
  "hubHostAlias: the Hub's API and activity URLs name the Hub as the container reaches it",
  async (t) => {
    const env = containerHubEnvironment(HUB, { ...DEFAULT_SPAWNER_POLICY, hubHostAlias: "10.0.2.2" });
    t.equal(env.JUPYTERHUB_API_URL, "http://10.0.2.2:8081/hub/api");
    t.equal(env.JUPYTERHUB_ACTIVITY_URL, "http://10.0.2.2:8081/hub/api/users/alice/activity");
    t.equal(env.JUPYTERHUB_BASE_URL, "/", "paths are left alone");
    t.same(containerHubEnvironment({ A: "1" }, { ...DEFAULT_SPAWNER_POLICY, hubHostAlias: "h" }), { A: "1" });
  },
);

t.test("URLs that are not http(s) URLs are refused, naming the variable", async (t) => {
  t.throws(() => containerHubEnvironment({ JUPYTERHUB_SERVICE_URL: "not a url" }, DEFAULT_SPAWNER_POLICY), {
    code: "SPAWN_REQUEST_INVALID",
    field: "environment.JUPYTERHUB_SERVICE_URL",
  });
  t.throws(
    () =>
      containerHubEnvironment(
        { JUPYTERHUB_API_URL: "file:///etc/passwd" },
        { ...DEFAULT_SPAWNER_POLICY, hubHostAlias: "h" },
      ),
    { field: "environment.JUPYTERHUB_API_URL", message: /not an http\(s\) URL/ },
  );
});
