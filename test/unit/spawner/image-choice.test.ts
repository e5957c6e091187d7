import t from "tap";
import { chooseImage } from "../../../src/spawner/plan/image-choice.js";
import { LaunchRefused } from "../../../src/spawner/plan/launch-refused.js";
import { DEFAULT_SPAWNER_POLICY, type SpawnerPolicy } from "../../../src/spawner/policy/spawner-policy.js";

const choose = (value: string | undefined, policy: Partial<SpawnerPolicy> = {}) =>
  chooseImage(value === undefined ? undefined : { field: "custom_lms_image", value }, {
    ...DEFAULT_SPAWNER_POLICY,
    ...policy,
  });

function refusal(value: string, policy: Partial<SpawnerPolicy> = {}): LaunchRefused {
  try {
    choose(value, policy);
  } catch (error) {
    if (error instanceof LaunchRefused) return error;
    throw error;
  }
  throw new Error("not refused");
}

t.test("the launch's image", async (t) => {
  t.strictSame(choose(undefined), { image: DEFAULT_SPAWNER_POLICY.image, changed: false });
  t.strictSame(choose(""), { image: DEFAULT_SPAWNER_POLICY.image, changed: false }, "empty = absent");
  t.strictSame(choose(DEFAULT_SPAWNER_POLICY.image), { image: DEFAULT_SPAWNER_POLICY.image, changed: false });
  t.strictSame(choose("jupyterhub/singleuser : 5.2"), { image: "jupyterhub/singleuser:5.2", changed: true });
  t.strictSame(choose("a1b2c3d4e5f6", { imageAllowList: ["a1b2c3d4e5f6"] }), {
    image: "a1b2c3d4e5f6",
    changed: true,
  });
  t.strictSame(
    choose("jupyter/minimal-notebook", { imageFilter: null, imageAllowList: ["jupyter/minimal-notebook"] }),
    { image: "jupyter/minimal-notebook", changed: true },
  );
  t.strictSame(
    choose("lab@sha256:0123abcd", { imageFilter: "" }),
    { image: "lab@sha256:0123abcd", changed: true },
    "an empty filter allows every image, as in mod_lticontainer",
  );
});

t.test("images outside the policy", async (t) => {
  for (const [image, policy] of [
    ["jupyter/minimal-notebook", {}],
    ["jupyter/minimal-notebook:latest", { imageAllowList: ["jupyter/minimal-notebook"] }],
    ["jupyterhub/singleuser", { imageFilter: null }],
    ["evil.example/miner:1", { imageFilter: "jupyterhub" }],
  ] as const) {
    const error = refusal(image, policy);
    t.strictSame([error.code, error.field], ["LAUNCH_IMAGE_NOT_ALLOWED", "custom_lms_image"], image);
    t.match(error.message, "is not allowed by the spawner policy");
  }
  for (const image of [
    "alpine;id",
    "$(id)",
    "jupyterhub|x",
    "jupyterhub`id`",
    "-jupyterhub",
    "jupyterhub\nx",
    "../jupyterhub",
  ]) {
    const error = refusal(image);
    t.strictSame(
      [error.code, error.field],
      ["LAUNCH_UNSAFE_VALUE", "custom_lms_image"],
      JSON.stringify(image),
    );
    t.notMatch(error.message, "\n");
  }
});
