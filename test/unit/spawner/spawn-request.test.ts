import t from "tap";
import {
  SpawnRequestInvalid,
  parseContainerRequest,
  parseStartRequest,
  parseStopRequest,
} from "../../../src/spawner/service/spawn-request.js";

const body = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value));

const START = {
  user: "alice",
  server: "",
  launch: { context_id: "42", oauth_signature: "x", user_id: 76, custom_lms_vol_a: "A" },
  environment: { JUPYTERHUB_API_TOKEN: "secret-token" },
  command: null,
  args: ["--debug"],
};

t.test("a start request as LtictrSpawner sends it", async (t) => {
  const request = parseStartRequest(body(START));
  t.equal(request.user, "alice");
  t.equal(request.server, "");
  t.same(
    [...request.launch],
    [
      ["context_id", "42"],
      ["user_id", "76"],
      ["custom_lms_vol_a", "A"],
    ],
    "launch order kept, numbers as text, oauth_* left out",
  );
  t.same(request.environment, { JUPYTERHUB_API_TOKEN: "secret-token" });
  t.equal(request.command, undefined, "null: the policy's command");
  t.same(request.args, ["--debug"]);
  t.same(parseStartRequest(body({ ...START, command: ["start.sh"], args: undefined })).command, ["start.sh"]);
  t.same(parseStartRequest(body({ user: "a", environment: {} })), {
    user: "a",
    server: "",
    launch: new Map(),
    environment: {},
    args: [],
  });
});

t.test("start requests that are refused, with the key at fault and never a value", async (t) => {
  const cases: Array<[unknown, string, RegExp]> = [
    ["{not json", "body", /not JSON/],
    [[1], "body", /must be a JSON object/],
    [{ ...START, extra: 1 }, "extra", /unknown key/],
    [{ ...START, user: "" }, "user", /non-empty string/],
    [{ ...START, user: 5 }, "user", /non-empty string/],
    [{ ...START, user: "a\nb" }, "user", /without control characters/],
    [{ ...START, user: "x".repeat(256) }, "user", /at most 255/],
    [{ ...START, server: 1 }, "server", /must be a string/],
    [{ ...START, launch: [] }, "launch", /JSON object of parameters/],
    [{ ...START, launch: { a: { b: 1 } } }, "launch.a", /string or a number/],
    [{ ...START, launch: { a: true } }, "launch.a", /string or a number/],
    [{ ...START, launch: { "a\u0000": "x" } }, "launch", /parameter names/],
    [
      { ...START, launch: Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`p${i}`, "v"])) },
      "launch",
      /more than 1000/,
    ],
    [{ ...START, environment: undefined }, "environment", /JSON object of variables/],
    [
      { ...START, environment: { JUPYTERHUB_API_TOKEN: 5 } },
      "environment.JUPYTERHUB_API_TOKEN",
      /must be a string/,
    ],
    [{ ...START, command: [] }, "command", /must name a command/],
    [{ ...START, command: "start.sh" }, "command", /list of strings/],
    [{ ...START, args: [1] }, "args", /list of strings/],
  ];
  for (const [value, field, message] of cases) {
    let error: unknown;
    try {
      parseStartRequest(body(value));
    } catch (caught) {
      error = caught;
    }
    t.type(error, SpawnRequestInvalid, JSON.stringify(value).slice(0, 80));
    t.match(error, { code: "SPAWN_REQUEST_INVALID", field, message });
    t.notMatch((error as Error).message, /secret-token/);
  }
});

t.test("poll and stop requests", async (t) => {
  t.same(parseContainerRequest(body({ user: "a", server: "lab", id: "f00d" })), {
    user: "a",
    server: "lab",
    id: "f00d",
  });
  t.same(parseStopRequest(body({ user: "a", id: "f00d" })), {
    user: "a",
    server: "",
    id: "f00d",
    timeoutSeconds: 10,
  });
  t.equal(parseStopRequest(body({ user: "a", id: "f00d", timeoutSeconds: 0 })).timeoutSeconds, 0);
  t.throws(() => parseContainerRequest(body({ user: "a" })), {
    field: "id",
    message: /must be a non-empty string/,
  });
  t.throws(() => parseContainerRequest(body({ user: "a", id: "x", timeoutSeconds: 1 })), {
    field: "timeoutSeconds",
    message: /unknown key/,
  });
  for (const timeoutSeconds of [-1, 1.5, 301, "10"]) {
    t.throws(() => parseStopRequest(body({ user: "a", id: "x", timeoutSeconds })), {
      field: "timeoutSeconds",
      message: /whole number of seconds from 0 to 300/,
    });
  }
});
