import t from "tap";
import {
  belongsToScope,
  checkScope,
  courseVolumeName,
  parseCourseVolumeName,
} from "../../../src/spawner/course-volume-name.js";
import { InvalidNameError } from "../../../src/spawner/engine/engine-errors.js";

t.test("full names parse into role, short name, course and host", async (t) => {
  t.same(parseCourseVolumeName("lms_vol_rsa_219_el.mml.tuis.ac.jp"), {
    name: "lms_vol_rsa_219_el.mml.tuis.ac.jp",
    role: "task",
    shortName: "rsa",
    course: "219",
    host: "el.mml.tuis.ac.jp",
  });
  t.match(parseCourseVolumeName("lms_sub_report1_7_lms.example.org"), {
    role: "submit",
    shortName: "report1",
  });
  t.match(parseCourseVolumeName("lms_prs_rsa_219_localhost"), { role: "personal", host: "localhost" });
  t.match(
    parseCourseVolumeName("lms_vol__219_localhost"),
    { shortName: "" },
    "Moodle may leave the name empty",
  );
  t.match(
    parseCourseVolumeName("lms_vol_a_219_my_host"),
    { course: "219", host: "my_host" },
    "'_' only in the host",
  );
  t.match(parseCourseVolumeName("lms_vol_a_219_10.0.0.5"), { host: "10.0.0.5" });
});

t.test("names that could reach paths, templates or bind specifications are refused", async (t) => {
  const refused = [
    "",
    "lms_vol_rsa_219",
    "lms_xyz_rsa_219_h",
    "LMS_vol_rsa_219_h",
    "lms_vol_RSA_219_h",
    "lms_vol_r-sa_219_h",
    "lms_vol_rsa_219_h/x",
    "lms_vol_rsa_219_../etc",
    "lms_vol_rsa_219_a..b",
    "lms_vol_rsa_2..19_h",
    "lms_vol_rsa_C{1}_h",
    "lms_vol_rsa_219_h}",
    "lms_vol_q_5_::1",
    "lms_vol_rsa_219_h x",
    "lms_vol_rsa_219_h\n",
    "lms_vol_rsa_219_h\t",
    "lms_vol_rsa_219_.h",
    "lms_vol_rsa_-219_h",
    "lms_vol_rsa_219_h%2fx",
    `lms_vol_rsa_219_${"h".repeat(250)}`,
  ];
  for (const name of refused) {
    t.throws(() => parseCourseVolumeName(name), InvalidNameError, JSON.stringify(name));
  }
  t.throws(() => parseCourseVolumeName("lms_vol_a_1_../x"), {
    code: "INVALID_NAME",
    message: /lms_\(vol\|sub\|prs\)/,
  });
});

t.test("names are built from checked parts; the host is lower-cased", async (t) => {
  t.equal(
    courseVolumeName({ role: "task", shortName: "rsa", course: "219", host: "EL.Example.org" }).name,
    "lms_vol_rsa_219_el.example.org",
  );
  t.equal(courseVolumeName({ role: "submit", shortName: "", course: "7", host: "h" }).name, "lms_sub__7_h");
  t.equal(
    courseVolumeName({ role: "personal", shortName: "x1", course: "7", host: "h" }).name,
    "lms_prs_x1_7_h",
  );
  t.throws(() => courseVolumeName({ role: "task", shortName: "R-1", course: "7", host: "h" }), {
    code: "INVALID_NAME",
    message: /name "R-1"/,
  });
  t.throws(() => courseVolumeName({ role: "task", shortName: "a", course: "7_1", host: "h" }), {
    message: /course "7_1"/,
  });
  t.throws(() => courseVolumeName({ role: "task", shortName: "a", course: "7", host: "h:443" }), {
    message: /host "h:443"/,
  });
  t.throws(() => courseVolumeName({ role: "task", shortName: "a", course: "7", host: "a/../b" }), {
    message: /host/,
  });
  t.throws(() => courseVolumeName({ role: "other" as "task", shortName: "a", course: "7", host: "h" }), {
    message: /role "other"/,
  });
});

t.test("scopes are checked, and matched with the host in any case", async (t) => {
  t.doesNotThrow(() => checkScope("219", "el.example"));
  t.throws(() => checkScope("{219}", "h"), InvalidNameError);
  t.throws(() => checkScope("219", " h"), InvalidNameError);
  t.throws(() => checkScope("219", ".."), InvalidNameError);
  const volume = parseCourseVolumeName("lms_vol_rsa_219_EL.example");
  t.ok(belongsToScope(volume, "219", "el.example"));
  t.notOk(belongsToScope(volume, "21", "el.example"));
  t.notOk(belongsToScope(volume, "219", "el.example.org"));
});
