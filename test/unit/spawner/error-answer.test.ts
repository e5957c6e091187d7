import t from "tap";
import { BodyTooLarge } from "../../../src/api/json-body.js";
import {
  EngineError,
  EngineTimeoutError,
  EngineUnreachableError,
  ImageNotFoundError,
  InvalidNameError,
  NameConflictError,
} from "../../../src/spawner/engine/engine-errors.js";
import { LaunchRefused } from "../../../src/spawner/plan/launch-refused.js";
import { errorAnswer } from "../../../src/spawner/service/error-answer.js";
import { HostDirectoryError } from "../../../src/spawner/service/host-directories.js";
import { ContainerNotOwned } from "../../../src/spawner/service/server-labels.js";
import { SpawnRequestInvalid } from "../../../src/spawner/service/spawn-request.js";

t.test("refusals of the request or the launch are 400 with the field", async (t) => {
  t.same(
    errorAnswer(new LaunchRefused("LAUNCH_UNSAFE_VALUE", "custom_lms_image", '"a;b" is not an image name')),
    {
      status: 400,
      body: {
        error: "LAUNCH_UNSAFE_VALUE",
        message: 'custom_lms_image: "a;b" is not an image name',
        field: "custom_lms_image",
      },
    },
  );
  t.same(errorAnswer(new SpawnRequestInvalid("user", "must be a non-empty string")), {
    status: 400,
    body: { error: "SPAWN_REQUEST_INVALID", message: "user: must be a non-empty string", field: "user" },
  });
});

t.test("engine failures keep the driver's message", async (t) => {
  const cases: Array<[Error, number, string]> = [
    [new EngineUnreachableError("/run/docker.sock", "no such socket"), 503, "ENGINE_UNREACHABLE"],
    [new EngineTimeoutError("/run/docker.sock", "POST /containers/create", 30000), 504, "ENGINE_TIMEOUT"],
    [new EngineError("ENGINE_ERROR", "the container engine refused to start", 500), 502, "ENGINE_ERROR"],
    [new ImageNotFoundError("x:1"), 502, "IMAGE_NOT_FOUND"],
    [new NameConflictError("container", "c"), 409, "NAME_CONFLICT"],
    [new InvalidNameError("invalid container name"), 400, "INVALID_NAME"],
    [new EngineError("CONTAINER_NOT_FOUND", "no container c"), 404, "CONTAINER_NOT_FOUND"],
    [new EngineError("VOLUME_IN_USE", "volume v is in use"), 409, "VOLUME_IN_USE"],
  ];
  for (const [error, status, code] of cases) {
    t.same(errorAnswer(error), { status, body: { error: code, message: error.message } }, code);
  }
});

t.test("ownership, host folders, body size; anything else is the caller's 500", async (t) => {
  t.match(errorAnswer(new ContainerNotOwned("c", "bob", "")), {
    status: 409,
    body: { error: "CONTAINER_NOT_OWNED" },
  });
  t.match(errorAnswer(new HostDirectoryError("cannot create /home/x")), {
    status: 500,
    body: { error: "HOST_DIRECTORY_FAILED", message: "cannot create /home/x" },
  });
  t.match(errorAnswer(new BodyTooLarge("body exceeds 262144 bytes")), { status: 413 });
  t.equal(errorAnswer(new TypeError("x is undefined")), undefined);
});
