import t from "tap";
import { MemoryAccounts } from "../../../src/spawner/host/account-resolver.js";
import { resolveIdentity } from "../../../src/spawner/plan/identity.js";
import { LaunchRefused } from "../../../src/spawner/plan/launch-refused.js";
import { dispatchLaunch } from "../../../src/spawner/plan/parameter-dispatch.js";
import { DEFAULT_SPAWNER_POLICY, type SpawnerPolicy } from "../../../src/spawner/policy/spawner-policy.js";
import { SUFFIX, launch, plan } from "../../support/spawner-launch.js";

function identity(
  userName: string,
  entries: Array<[string, string]>,
  accounts = new MemoryAccounts(),
  policy: Partial<SpawnerPolicy> = {},
  teachers: string[] = [],
) {
  return resolveIdentity({
    userName,
    commands: dispatchLaunch(new Map(entries)),
    teachers,
    accounts,
    policy: { ...DEFAULT_SPAWNER_POLICY, ...policy },
  });
}

function refusal(run: () => unknown): LaunchRefused {
  try {
    run();
  } catch (error) {
    if (error instanceof LaunchRefused) return error;
    throw error;
  }
  throw new Error("not refused");
}

const EXT: Array<[string, string]> = [
  ["user_id", "76"],
  ["ext_user_userid", "1001"],
  ["ext_user_groupid", "1002"],
  ["ext_user_groupname", "lab"],
];

t.test("a host account wins", async (t) => {
  const accounts = new MemoryAccounts({
    users: [{ name: "alice", uid: 2001, gid: 2100 }],
    groups: [{ name: "staff", gid: 2100 }],
  });
  t.strictSame(identity("alice", EXT, accounts), {
    userName: "alice",
    uid: 2001,
    gid: 2100,
    groupName: "staff",
    home: "/home/staff/alice",
    workDir: "/home/staff/alice/jupyter/works",
    teacher: false,
  });
  const withoutGroup = identity(
    "alice",
    EXT,
    new MemoryAccounts({ users: [{ name: "alice", uid: 2001, gid: 2100 }] }),
  );
  t.equal(withoutGroup.groupName, "lab", "a gid without a host group: the Moodle server's group name");
});

t.test("then the Moodle server's POSIX account", async (t) => {
  const result = identity("bob", EXT);
  t.equal(result.uid, 1001);
  t.equal(result.gid, 1002);
  t.equal(result.groupName, "lab");
  const named = identity("bob", EXT, new MemoryAccounts({ groups: [{ name: "physics", gid: 1002 }] }));
  t.equal(named.groupName, "physics", "the host's name for that gid comes first");
  t.equal(
    identity("bob", [...EXT, ["ext_user_userid", " "]]).uid,
    30076,
    "an empty extension value is absent",
  );
});

t.test("then derived from the Moodle user id and the default group", async (t) => {
  const bare = identity("carol", [["user_id", "76"]]);
  t.strictSame(
    [bare.uid, bare.gid, bare.groupName, bare.home],
    [30076, 30000, "others", "/home/others/carol"],
  );
  const hostGroup = identity(
    "carol",
    [["user_id", " 0076 "]],
    new MemoryAccounts({ groups: [{ name: "others", gid: 5000 }] }),
  );
  t.strictSame(
    [hostGroup.uid, hostGroup.gid, hostGroup.groupName],
    [30076, 5000, "others"],
    "the host's `others`",
  );
  const policy = {
    baseUid: 50000,
    defaultGroup: "students",
    homeTemplate: "/srv/{groupname}-home/{username}",
  };
  const custom = identity("carol", [["user_id", "1"]], new MemoryAccounts(), policy);
  t.strictSame(
    [custom.uid, custom.gid, custom.groupName, custom.home],
    [50001, 50000, "students", "/srv/students-home/carol"],
  );
});

t.test("teachers are named in lms_teachers, exactly", async (t) => {
  t.equal(identity("t1", [["user_id", "1"]], undefined, {}, ["t1", "t2"]).teacher, true);
  t.equal(identity("t1", [["user_id", "1"]], undefined, {}, ["T1", "t10"]).teacher, false);
});

t.test("values that cannot make an account are refused", async (t) => {
  for (const userName of ["../root", "-rf", ".hidden", "a b", "a:b", "a/b", "", "ü"]) {
    const error = refusal(() => identity(userName, [["user_id", "1"]]));
    t.equal(error.field, "user", JSON.stringify(userName));
    t.equal(error.code, "LAUNCH_UNSAFE_VALUE");
  }
  for (const [field, value, code] of [
    ["user_id", "abc", "LAUNCH_INVALID_VALUE"],
    ["user_id", "-1", "LAUNCH_INVALID_VALUE"],
    ["user_id", "７６", "LAUNCH_INVALID_VALUE"],
    ["user_id", "", "LAUNCH_INVALID_VALUE"],
    ["user_id", "99999999999", "LAUNCH_OUT_OF_RANGE"],
    ["ext_user_userid", "10x", "LAUNCH_INVALID_VALUE"],
    ["ext_user_groupid", "4294967295", "LAUNCH_OUT_OF_RANGE"],
    ["ext_user_groupname", "../etc", "LAUNCH_UNSAFE_VALUE"],
  ] as const) {
    const error = refusal(() =>
      identity("dave", [
        ["user_id", "1"],
        [field, value],
      ]),
    );
    t.strictSame([error.field, error.code], [field, code], `${field}=${JSON.stringify(value)}`);
  }
  const hostAccount = new MemoryAccounts({ users: [{ name: "dave", uid: 1, gid: 1 }] });
  t.equal(
    refusal(() => identity("dave", [["user_id", "abc"]], hostAccount)).field,
    "user_id",
    "checked even when the host account makes it unnecessary",
  );
  const missing = refusal(() => identity("dave", []));
  t.strictSame([missing.field, missing.code], ["user_id", "LAUNCH_MISSING_VALUE"]);
  t.ok(identity("dave", [], hostAccount), "no user_id is fine for a user with a host account");
  const oddGroup = new MemoryAccounts({
    users: [{ name: "dave", uid: 1, gid: 9 }],
    groups: [{ name: "a b", gid: 9 }],
  });
  t.equal(refusal(() => identity("dave", [], oddGroup)).field, "group");
});

t.test("a user name Docker refuses in container names is escaped there", async (t) => {
  const result = plan("a@b.jp", launch());
  t.equal(result.name, `jupyterhub-219-12-el.mml.tuis.ac.jp-${SUFFIX}-a-40b-2ejp`);
  t.ok(result.create.Env.includes("NB_USER=a@b.jp"), "the account keeps its name");
  t.equal(result.create.HostConfig.Binds[0], "/home/others/a@b.jp:/home/others/a@b.jp:rw");
});
