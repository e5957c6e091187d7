import t from "tap";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  SpawnerPolicyError,
  loadSpawnerPolicy,
  parseSpawnerPolicy,
} from "../../../src/spawner/policy/load-spawner-policy.js";
import { DEFAULT_SPAWNER_POLICY } from "../../../src/spawner/policy/spawner-policy.js";
import { tempDir } from "../../support/temp-dir.js";

function policyError(value: unknown): SpawnerPolicyError {
  try {
    parseSpawnerPolicy(value, "policy.json");
  } catch (error) {
    if (error instanceof SpawnerPolicyError) return error;
    throw error;
  }
  throw new Error("accepted");
}

t.test("absent keys take LTIContainerSpawner's settings", async (t) => {
  t.strictSame(parseSpawnerPolicy({}, "p"), DEFAULT_SPAWNER_POLICY);
  t.strictSame(parseSpawnerPolicy({ "//": "a comment", "// image": "another" }, "p"), DEFAULT_SPAWNER_POLICY);
  t.match(DEFAULT_SPAWNER_POLICY, {
    image: "ghcr.io/jupyter-fumihax/jupyterhub-ltictr.singleuser",
    cpuLimit: 1,
    memLimit: 1073741824,
    actLimit: 6000,
    defaultUrl: "/lab",
    baseUid: 30000,
    defaultGroup: "others",
    teacherGid: 7000,
    teacherGroup: "TEACHER",
    homeTemplate: "/home/{groupname}/{username}",
    noticeDir: "/usr/local/etc/ltictr",
    volumesDir: ".volumes",
    runAsRoot: false,
    privileged: false,
  });
});

t.test("keys the operator sets", async (t) => {
  const policy = parseSpawnerPolicy(
    {
      image: "registry.example/lab:2026",
      imageAllowList: ["jupyter/minimal-notebook:latest"],
      imageFilter: null,
      cpuLimit: 0.5,
      cpuLimitMax: 4,
      memLimit: "512MiB",
      memLimitMax: "8GiB",
      actLimit: 3600,
      actLimitMax: 86400,
      allowUnlimited: false,
      defaultUrl: "/tree",
      homeTemplate: "/srv/home/{username}",
      runAsRoot: true,
      networkMode: "slirp4netns:allow_host_loopback=true",
      hubHostAlias: "10.0.2.2",
      command: ["start.sh", "jupyterhub-singleuser"],
      environment: { TZ: "UTC", GRANT_SUDO: null, PIP_NO_CACHE_DIR: "1" },
    },
    "p",
  );
  t.match(policy, {
    image: "registry.example/lab:2026",
    imageFilter: null,
    memLimit: 512 * 1024 ** 2,
    memLimitMax: 8 * 1024 ** 3,
    allowUnlimited: false,
    runAsRoot: true,
    networkMode: "slirp4netns:allow_host_loopback=true",
    hubHostAlias: "10.0.2.2",
    command: ["start.sh", "jupyterhub-singleuser"],
  });
  t.equal(policy.environment.TZ, "UTC");
  t.equal(policy.environment.PIP_NO_CACHE_DIR, "1");
  t.notOk("GRANT_SUDO" in policy.environment, "null removes a default variable");
  t.equal(policy.environment.NB_UMASK, "0037", "the other defaults stay");
});

t.test("invalid policies name the file and the key", async (t) => {
  const cases: Array<[unknown, RegExp]> = [
    [[], /policy\.json: the policy must be a JSON object/],
    [{ imgae: "x" }, /unknown key "imgae"/],
    [{ image: "alpine;id" }, /image must be an image reference/],
    [{ imageAllowList: "x" }, /imageAllowList must be a list/],
    [{ imageAllowList: ["ok", "$(id)"] }, /imageAllowList\[1\] must be an image reference/],
    [{ cpuLimit: "1" }, /cpuLimit must be a number/],
    [{ cpuLimitMax: 0 }, /cpuLimitMax must be a number from 0.01/],
    [{ cpuLimit: 12 }, /cpuLimit is above cpuLimitMax/],
    [{ cpuLimit: 0.001 }, /cpuLimit must be at least 0.01/],
    [{ memLimit: "lots" }, /memLimit must be a number of bytes or a size/],
    [{ memLimit: "1MiB" }, /memLimit must be at least 6291456/],
    [{ memLimitMax: "32GiB", memLimit: "64GiB" }, /memLimit is above memLimitMax/],
    [{ actLimit: 1.5 }, /actLimit must be a whole number/],
    [{ allowUnlimited: false, cpuLimit: 0 }, /cpuLimit is 0 \(no limit\) but allowUnlimited is false/],
    [{ allowUnlimited: "yes" }, /allowUnlimited must be true or false/],
    [{ defaultUrl: "lab" }, /defaultUrl must be an absolute path/],
    [{ defaultUrl: "/{username}" }, /defaultUrl must be an absolute path/],
    [{ baseUid: -1 }, /baseUid must be a number from 1/],
    [{ defaultGroup: "a b" }, /defaultGroup must be a group name/],
    [{ homeTemplate: "/home/{groupname}" }, /homeTemplate must contain \{username\}/],
    [{ homeTemplate: "home/{username}" }, /homeTemplate must be an absolute path/],
    [{ homeTemplate: "/home/../{username}" }, /homeTemplate must be an absolute path/],
    [{ homeTemplate: "/home/{user}/{username}" }, /homeTemplate must be an absolute path/],
    [{ noticeDir: "/etc/a:b" }, /noticeDir must be an absolute path/],
    [{ volumesDir: "/abs" }, /volumesDir must be a relative path/],
    [{ volumesDir: "../up" }, /volumesDir must be a relative path/],
    [{ notebookPort: 70000 }, /notebookPort must be a number from 1 to 65535/],
    [{ networkMode: "container:abc" }, /networkMode must be a network name/],
    [{ networkMode: "slirp4netns:a b" }, /networkMode must be a network name/],
    [{ networkMode: "bridge:x" }, /networkMode must be a network name/],
    [{ hubHostAlias: "10.0.2.2:8081" }, /hubHostAlias must be a host name or IPv4 address/],
    [{ hubHostAlias: "a/b" }, /hubHostAlias must be a host name or IPv4 address/],
    [{ hubHostAlias: "" }, /hubHostAlias must be a host name or IPv4 address/],
    [{ command: [] }, /command must name a command/],
    [{ command: "start.sh" }, /command must be a list/],
    [{ environment: { "A B": "x" } }, /environment: "A B" is not a variable name/],
    [{ environment: { NB_UID: "0" } }, /environment: NB_UID is set by the plan/],
    [{ environment: { VOLUME_DIR: "x" } }, /environment: VOLUME_DIR is set by the plan/],
    [{ environment: { TZ: 9 } }, /environment\.TZ must be a string/],
  ];
  for (const [value, message] of cases) {
    const error = policyError(value);
    t.match(error.message, message, JSON.stringify(value));
    t.match(error.message, /^policy\.json: /);
    t.equal(error.code, "SPAWNER_POLICY_INVALID");
  }
});

t.test("policy files", async (t) => {
  const dir = tempDir(t);
  const good = join(dir, "policy.json");
  writeFileSync(good, JSON.stringify({ cpuLimitMax: 2, imageFilter: "lab -old" }));
  t.match(loadSpawnerPolicy(good), { cpuLimitMax: 2, imageFilter: "lab -old", memLimit: 1073741824 });

  const broken = join(dir, "broken.json");
  writeFileSync(broken, "{ cpuLimitMax: 2 }");
  t.throws(() => loadSpawnerPolicy(broken), {
    name: "SpawnerPolicyError",
    message: /broken\.json: not JSON/,
  });
  t.throws(() => loadSpawnerPolicy(join(dir, "missing.json")), {
    name: "SpawnerPolicyError",
    message: /missing\.json: cannot read the spawner policy/,
  });
});

t.test("the example policy in config/ is valid", async (t) => {
  const example = fileURLToPath(new URL("../../../../config/spawner-policy.example.json", import.meta.url));
  t.match(loadSpawnerPolicy(example), {
    networkMode: "slirp4netns:allow_host_loopback=true",
    hubHostAlias: "10.0.2.2",
    imageFilter: "jupyterhub -old",
    allowUnlimited: false,
  });
});
