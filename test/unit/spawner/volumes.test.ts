import t from "tap";
import { LaunchRefused } from "../../../src/spawner/plan/launch-refused.js";
import { dispatchLaunch } from "../../../src/spawner/plan/parameter-dispatch.js";
import { visibleVolumes, type VolumeInput } from "../../../src/spawner/plan/volumes.js";

const NOW = 1_750_000_000;

function volumesFor(
  entries: Array<[string, string]>,
  who: Partial<Omit<VolumeInput, "commands">> = {},
): { task: string[]; submit: string[]; personal: string[] } {
  const result = visibleVolumes({
    commands: dispatchLaunch(new Map(entries.map(([key, value]) => [`custom_${key}`, value]))),
    userName: "student1",
    teacher: false,
    users: [],
    courseId: "219",
    host: "m.example",
    nowSeconds: NOW,
    ...who,
  });
  const show = (list: Array<{ name: string; link: string }>) =>
    list.map(({ name, link }) => `${name}:${link}`);
  return { task: show(result.task), submit: show(result.submit), personal: show(result.personal) };
}

function refused(entries: Array<[string, string]>): LaunchRefused {
  try {
    volumesFor(entries);
  } catch (error) {
    if (error instanceof LaunchRefused) return error;
    throw error;
  }
  throw new Error("not refused");
}

t.test("visibility", async (t) => {
  const launch: Array<[string, string]> = [
    ["lms_vol_own", "Own:student1,other"],
    ["lms_vol_all", "All:*"],
    ["lms_vol_others", "Others:alice, bob"],
    ["lms_vol_plain", "Plain"],
  ];
  t.strictSame(
    volumesFor(launch).task,
    ["lms_vol_own_219_m.example:Own", "lms_vol_all_219_m.example:All"],
    "a volume's own list decides; without one and without lms_users: hidden",
  );
  t.strictSame(
    volumesFor(launch, { users: ["student1"] }).task,
    ["lms_vol_own_219_m.example:Own", "lms_vol_all_219_m.example:All", "lms_vol_plain_219_m.example:Plain"],
    "lms_users names the user: volumes without a list of their own",
  );
  t.strictSame(
    volumesFor(launch, { users: ["*"] }).task,
    ["lms_vol_own_219_m.example:Own", "lms_vol_all_219_m.example:All", "lms_vol_plain_219_m.example:Plain"],
    "lms_users=* : everyone",
  );
  t.strictSame(
    volumesFor(launch, { users: ["Student1"] }).task,
    ["lms_vol_own_219_m.example:Own", "lms_vol_all_219_m.example:All"],
    "names compare exactly",
  );
  t.strictSame(
    volumesFor(launch, { userName: "teacher1", teacher: true }).task,
    [
      "lms_vol_own_219_m.example:Own",
      "lms_vol_all_219_m.example:All",
      "lms_vol_others_219_m.example:Others",
      "lms_vol_plain_219_m.example:Plain",
    ],
    "teachers see every volume, even one whose own list leaves them out",
  );
  t.strictSame(
    volumesFor([["lms_vol_x", "X:alice bob"]], { userName: "alice" }).task,
    [],
    "a list's spaces are removed, as LTIContainerSpawner did: `alicebob`",
  );
  t.strictSame(
    volumesFor([["lms_vol_x", "X:bob:student1"]]).task,
    [],
    "only the part after the first : is the list",
  );
  t.strictSame(
    volumesFor([["lms_prs_x", "Mine:student1"]]).personal,
    ["lms_prs_x_219_m.example:Mine"],
    "personal volumes follow the same rules",
  );
});

t.test("links", async (t) => {
  t.strictSame(
    volumesFor(
      [
        ["lms_vol_a", ""],
        ["lms_vol_b", ":student1"],
        ["lms_vol_c", "Data/Set\\1:*"],
        ["lms_vol_d", "-課題,v1.0@#_"],
      ],
      { users: ["*"] },
    ).task,
    ["lms_vol_c_219_m.example:DataSet\\1", "lms_vol_d_219_m.example:-課題,v1.0@#_"],
    "an empty link hides the volume; / is removed; backslash and Moodle's other characters kept",
  );
  for (const link of [
    "My Data",
    "a;b",
    "$(id)",
    "`id`",
    "a|b",
    "a&b",
    "a>b",
    "x*",
    "[x]",
    "a\tb",
    "a=b",
    "a+b",
    "{x}",
  ]) {
    const error = refused([["lms_vol_x", `${link}:*`]]);
    t.equal(error.code, "LAUNCH_UNSAFE_VALUE", `${JSON.stringify(link)} refused`);
    t.equal(error.field, "custom_lms_vol_x");
  }
  t.equal(refused([["lms_vol_x", "..:*"]]).code, "LAUNCH_UNSAFE_VALUE", ".. refused");
  t.equal(refused([["lms_sub_x", "../:*"]]).code, "LAUNCH_UNSAFE_VALUE", "../ (→ ..) refused");
  t.equal(refused([["lms_prs_x", ".:*"]]).code, "LAUNCH_UNSAFE_VALUE", ". refused");
});

t.test("volume names", async (t) => {
  t.strictSame(volumesFor([["lms_vol_", "Empty:*"]]).task, ["lms_vol__219_m.example:Empty"]);
  t.strictSame(volumesFor([["lms_vol_a_1", "A:*"]]).task, ["lms_vol_a_1_219_m.example:A"]);
  for (const key of [
    "lms_vol_../../etc",
    "lms_sub_../x",
    "lms_prs_a/b",
    "lms_vol_A",
    "lms_vol_x y",
    "lms_vol_x:y",
  ]) {
    const error = refused([[key, "L:*"]]);
    t.equal(error.code, "LAUNCH_UNSAFE_VALUE", key);
    t.equal(error.field, `custom_${key}`);
    t.match(error.message, /may only contain a-z, 0-9 and _/);
  }
});

t.test("submit close times", async (t) => {
  const launch = (close: string): Array<[string, string]> => [
    ["lms_sub_rep", "Report:*"],
    ["lms_sub_rep_close", close],
    ["lms_sub_open", "Open:*"],
  ];
  t.strictSame(
    volumesFor(launch(String(NOW - 1))).submit,
    ["lms_sub_open_219_m.example:Open"],
    "past: hidden",
  );
  t.strictSame(
    volumesFor(launch(String(NOW))).submit,
    ["lms_sub_rep_219_m.example:Report", "lms_sub_open_219_m.example:Open"],
    "the close second itself is still open",
  );
  t.strictSame(volumesFor(launch(` ${NOW + 1} `)).submit.length, 2, "future: visible");
  t.strictSame(volumesFor(launch("-5")).submit.length, 1, "before 1970: closed");
  t.strictSame(
    volumesFor(launch(String(NOW - 1)), { userName: "teacher1", teacher: true }).submit.length,
    2,
    "teachers ignore close times",
  );
  t.strictSame(
    volumesFor([
      ["lms_sub_report1", "Report-1:*"],
      ["lms_sub_report_1_close", String(NOW - 1)],
    ]).submit,
    [],
    "Moodle's close key for `Report-1` (lms_sub_report_1_close) closes its volume lms_sub_report1",
  );
  t.strictSame(
    volumesFor([
      ["lms_sub_close", "NamedClose:*"],
      ["lms_sub_close_close", String(NOW - 1)],
    ]).submit,
    [],
    "a submit volume named close, and its close time",
  );
  t.strictSame(
    volumesFor([
      ["lms_sub_close", "Close:*"],
      ["lms_sub_", "Empty:*"],
    ]).submit,
    ["lms_sub_close_219_m.example:Close", "lms_sub__219_m.example:Empty"],
    "lms_sub_close is a volume, not the close time of lms_sub_",
  );
  for (const close of ["", " ", "tomorrow", "1.5", "2026-01-01"]) {
    const error = refused(launch(close));
    t.equal(error.code, "LAUNCH_INVALID_VALUE", JSON.stringify(close));
    t.equal(error.field, "custom_lms_sub_rep_close");
  }
  t.equal(
    refused([["lms_sub_a/b_close", "1"]]).field,
    "custom_lms_sub_a/b_close",
    "close names are checked too",
  );
});
