import t from "tap";
import { runEngineCommand } from "../../../src/spawner/cli/engine-commands.js";
import { EngineClient } from "../../../src/spawner/engine/engine-client.js";
import {
  createCourseVolume,
  listCourseVolumes,
  removeCourseVolume,
} from "../../../src/spawner/engine/course-volumes.js";
import { startPodmanService } from "../../support/podman.js";

const podman = await startPodmanService(t);
const client = new EngineClient({ socketPath: podman.socketPath });
t.teardown(() => client.close());

/** Every volume on the engine, course volume or not. */
async function allVolumeNames(): Promise<string[]> {
  const response = await client.request({ method: "GET", path: "/volumes" });
  return ((response.body as { Volumes: { Name: string }[] | null }).Volumes ?? []).map((v) => v.Name).sort();
}

t.test("created, listed per course and host with roles and short names, removed", async (t) => {
  const names = [
    "lms_vol_rsa_219_el.example.org",
    "lms_sub_report1_219_el.example.org",
    "lms_prs_rsa_219_el.example.org",
    "lms_vol__219_el.example.org",
    "lms_vol_rsa_2190_el.example.org",
    "lms_vol_rsa_219_other.example.org",
  ];
  for (const name of names) {
    const created = await createCourseVolume(client, name);
    t.equal(created.name, name);
    t.equal(created.driver, "local");
    t.match(created.createdAt, /^\d{4}-\d\d-\d\dT/);
  }
  const again = await createCourseVolume(client, names[0] as string);
  t.equal(again.name, names[0], "creating an existing volume returns it");
  // a volume that is not a course volume, as other software on the engine's host makes them
  await client.request({ method: "POST", path: "/volumes/create", body: { Name: "postgres-data" } });

  const listed = await listCourseVolumes(client, { course: "219", host: "EL.example.org" });
  t.same(
    listed.map(({ name, role, shortName, course, host }) => ({ name, role, shortName, course, host })),
    [
      {
        name: "lms_prs_rsa_219_el.example.org",
        role: "personal",
        shortName: "rsa",
        course: "219",
        host: "el.example.org",
      },
      {
        name: "lms_sub_report1_219_el.example.org",
        role: "submit",
        shortName: "report1",
        course: "219",
        host: "el.example.org",
      },
      {
        name: "lms_vol__219_el.example.org",
        role: "task",
        shortName: "",
        course: "219",
        host: "el.example.org",
      },
      {
        name: "lms_vol_rsa_219_el.example.org",
        role: "task",
        shortName: "rsa",
        course: "219",
        host: "el.example.org",
      },
    ],
    "course 2190 and the other host are left out",
  );

  await removeCourseVolume(client, "lms_sub_report1_219_el.example.org");
  t.same(
    (await listCourseVolumes(client, { course: "219", host: "el.example.org" })).map((v) => v.name),
    ["lms_prs_rsa_219_el.example.org", "lms_vol__219_el.example.org", "lms_vol_rsa_219_el.example.org"],
  );
  await t.rejects(removeCourseVolume(client, "lms_sub_report1_219_el.example.org"), {
    code: "VOLUME_NOT_FOUND",
  });
  t.ok((await allVolumeNames()).includes("postgres-data"));
});

t.test("invalid names are refused and nothing on the engine changes", async (t) => {
  const before = await allVolumeNames();
  await t.rejects(createCourseVolume(client, "lms_vol_a_219_../../etc"), { code: "INVALID_NAME" });
  await t.rejects(createCourseVolume(client, "lms_vol_a_C{1}_h"), { code: "INVALID_NAME" });
  await t.rejects(removeCourseVolume(client, "postgres-data"), { code: "INVALID_NAME" });
  await t.rejects(listCourseVolumes(client, { course: "219", host: "::1" }), { code: "INVALID_NAME" });
  t.same(await allVolumeNames(), before);
});

t.test("the operator's commands against the same engine", async (t) => {
  let stdout = "";
  let stderr = "";
  const io = { stdout: (s: string) => (stdout += s), stderr: (s: string) => (stderr += s) };
  const socket = ["--engine-socket", podman.socketPath];
  t.equal(
    await runEngineCommand(
      [
        "volumes",
        "create",
        "--course",
        "7",
        "--host",
        "lms.example",
        "--role",
        "task",
        "--name",
        "data",
        ...socket,
      ],
      io,
    ),
    0,
  );
  t.equal(await runEngineCommand(["volumes", "create", "lms_sub_hw_7_lms.example", ...socket], io), 0);
  t.equal(
    await runEngineCommand(
      ["volumes", "list", "--course", "7", "--host", "lms.example", "--json", ...socket],
      io,
    ),
    0,
  );
  const listStart = stdout.indexOf("[");
  t.match(JSON.parse(stdout.slice(listStart)), [
    { name: "lms_sub_hw_7_lms.example", role: "submit", shortName: "hw" },
    { name: "lms_vol_data_7_lms.example", role: "task", shortName: "data" },
  ]);
  t.equal(
    stdout.slice(0, listStart),
    "created lms_vol_data_7_lms.example\ncreated lms_sub_hw_7_lms.example\n",
  );
  stdout = "";
  t.equal(await runEngineCommand(["volumes", "remove", "lms_vol_data_7_lms.example", ...socket], io), 0);
  t.equal(
    await runEngineCommand(["volumes", "list", "--course", "7", "--host", "lms.example", ...socket], io),
    0,
  );
  t.equal(
    stdout,
    "removed lms_vol_data_7_lms.example\nNAME                      ROLE    SHORT NAME\nlms_sub_hw_7_lms.example  submit  hw\n",
  );
  t.equal(await runEngineCommand(["volumes", "remove", "lms_vol_data_7_lms.example", ...socket], io), 1);
  t.equal(stderr, 'error: no volume "lms_vol_data_7_lms.example" on the container engine\n');
});
