import t from "tap";
import { request } from "undici";
import { emptyNbLog, type NbLog } from "../../../src/capture/nb-log-record.js";
import { encodeNbLog, encodeNbLogs } from "../../../src/delivery/moodle-form.js";
import { countsPerCodenum, countsPerUser, MoodleStandIn } from "../../support/moodle-stand-in.js";

const TOKEN = "0123456789abcdef0123456789abcdef";

async function post(
  standIn: MoodleStandIn,
  body: string,
  query = `wstoken=${TOKEN}&wsfunction=mod_lticontainer_write_nblogs&moodlewsrestformat=json`,
) {
  const response = await request(`${standIn.baseUrl}/webservice/rest/server.php?${query}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body,
  });
  return { status: response.statusCode, body: await response.body.text() };
}

type LogFields = Partial<NbLog> & Pick<NbLog, "host">;

const log = (fields: LogFields): NbLog => ({
  ...emptyNbLog(fields.host),
  ...fields,
});

/** Posts one record, the other fields empty. */
const postLog = (standIn: MoodleStandIn, fields: LogFields) => post(standIn, encodeNbLog(log(fields)));

t.test("write_nblogs: tables, /nc rule, tags, chart join", async (t) => {
  const standIn = await MoodleStandIn.start({ tokens: [TOKEN], pathPrefix: "/moodle", lti: { 13: 7 } });
  t.teardown(() => standIn.close());
  const S = "53ecb311-daa9-4004-a467-0967a059cdce";
  const ok = { status: 200, body: "[]" };
  for (let i = 0; i < 2; i++)
    t.same(await postLog(standIn, { host: "ltictr", inst_id: "6", lti_id: "13", session: S }), ok);
  t.same(
    standIn.session.map((row) => [row.session, row.course, row.inst_id, row.lti_id]),
    [[S, 7, 6, 13]],
    "one session row",
  );
  const tags = '["filename: 第10回演習.ipynb","codenum: 1"]';
  t.same(
    await postLog(standIn, {
      host: "client",
      session: S,
      message: "m1",
      cell_id: "c1",
      tags,
      date: "2023-06-27T05:53:13.789Z",
    }),
    ok,
  );
  t.same(
    standIn.tags.map((row) => [row.cell_id, row.filename, row.codenum]),
    [["c1", "第10回演習.ipynb", "1"]],
  );
  const later: LogFields[] = [
    { host: "server", message: "m1", status: "ok", username: "iseki", date: "2023-06-27T05:53:14.841943Z" },
    { host: "server", message: "m2", status: "ok", username: "iseki", date: "2023-06-27T05:53:15.000001Z" },
    { host: "client", message: "m3", cell_id: "c2", date: "2023-06-27T05:53:16.000Z" },
    {
      host: "server",
      message: "m3",
      status: "error",
      username: "iseki",
      date: "2023-06-27T05:53:17.000001Z",
    },
  ];
  for (const fields of later) await postLog(standIn, { ...fields, session: S });
  t.same(
    standIn.serverData.map((row) => row.status),
    ["ok", "ok/nc", "error"],
    "a server record before its client record gets /nc",
  );
  t.equal(standIn.serverData[0].updatetm, 1687845194);

  const rows = standIn.chartRows({ course: 7, instId: 6, start: 0, end: 2_000_000_000 });
  t.same(
    rows.map((row) => [row.username, row.status, row.filename, row.codenum]),
    [
      ["iseki", "ok", "第10回演習.ipynb", "1"],
      ["iseki", "error", null, null],
    ],
    "m2 has no client row, m3 has no tags",
  );
  t.same([...countsPerUser(rows)], [["iseki", { ok: 1, error: 1 }]]);
  t.same(
    [...countsPerCodenum(rows)],
    [
      ["1", { ok: 1, error: 0 }],
      ["999", { ok: 0, error: 1 }],
    ],
  );
  t.same(standIn.chartRows({ course: 8, instId: 6, start: 0, end: 2_000_000_000 }), [], "other course");
  t.same(
    standIn.chartRows({ course: 7, instId: 6, start: 1687845195, end: 2_000_000_000 }).length,
    1,
    "time window",
  );
});

t.test("Moodle's errors", async (t) => {
  const standIn = await MoodleStandIn.start({ tokens: [TOKEN], lti: { 13: 7 } });
  t.teardown(() => standIn.close());
  const body = encodeNbLog(log({ host: "client", session: "s", message: "m" }));
  const errorcode = async (b: string, query?: string) =>
    (JSON.parse((await post(standIn, b, query)).body) as { errorcode: string }).errorcode;
  const bad = await post(
    standIn,
    body,
    "wstoken=nope&wsfunction=mod_lticontainer_write_nblogs&moodlewsrestformat=json",
  );
  t.same(bad, {
    status: 200,
    body: '{"exception":"moodle_exception","errorcode":"invalidtoken","message":"Invalid token - token not found"}',
  });
  t.equal(
    await errorcode(
      body,
      `wstoken=${TOKEN}&wsfunction=core_webservice_get_site_info&moodlewsrestformat=json`,
    ),
    "accessexception",
  );
  t.equal(
    await errorcode(body, `wstoken=${TOKEN}&wsfunction=nonexistent&moodlewsrestformat=json`),
    "invalidrecord",
  );
  t.equal(await errorcode(body + "&nb_logs[0][extra]=x"), "invalidparameter", "unknown key");
  t.equal(await errorcode(body + "&foo=1"), "invalidparameter", "unknown parameter");
  t.equal(
    await errorcode(body.replace("[message]=m", "[message]=%3Cb%3Em")),
    "invalidparameter",
    "PARAM_TEXT would strip a tag",
  );
  t.equal(await errorcode(body.replace("[message]=m", "[message]=%FF")), "invalidparameter", "invalid UTF-8");
  t.equal(
    await errorcode(body.replace("[message]=m", `[message]=${"x".repeat(43)}`)),
    "dmlwriteexception",
    "too long",
  );
  t.equal(
    await errorcode(encodeNbLog(log({ host: "ltictr", session: "s", lti_id: "99" }))),
    "dmlwriteexception",
    "unknown LTI",
  );
  t.equal(
    await errorcode(encodeNbLog(log({ host: "ltictr", session: "s", lti_id: "x1" }))),
    "dmlwriteexception",
    "not an id",
  );
  t.equal(standIn.clientData.length, 0, "nothing was written by failed calls");
  const notFound = await request(`${standIn.origin}/other/webservice/rest/server.php`, {
    method: "POST",
    body,
  });
  t.equal(notFound.statusCode, 404);
  await notFound.body.dump();
});

t.test("only nb_logs[0] is processed unless the plugin is patched", async (t) => {
  const released = await MoodleStandIn.start({ tokens: [TOKEN] });
  t.teardown(() => released.close());
  const patched = await MoodleStandIn.start({ tokens: [TOKEN], multiRecord: true });
  t.teardown(() => patched.close());
  const body = encodeNbLogs([1, 2, 3].map((n) => log({ host: "client", session: "s", message: `m${n}` })));
  await post(released, body);
  await post(patched, body);
  t.same(
    released.clientData.map((row) => row.message),
    ["m1"],
  );
  t.same(
    patched.clientData.map((row) => row.message),
    ["m1", "m2", "m3"],
  );
});

t.test("fault injection: down, 503, delay, up", async (t) => {
  const standIn = await MoodleStandIn.start({ tokens: [TOKEN] });
  t.teardown(() => standIn.close());
  const body = encodeNbLog(log({ host: "client", session: "s", message: "m" }));
  await standIn.setMode("down");
  await t.rejects(post(standIn, body), { code: "ECONNREFUSED" });
  await standIn.setMode("503");
  t.equal((await post(standIn, body)).status, 503);
  await standIn.setMode("up");
  standIn.setDelay(50);
  t.same(await post(standIn, body), { status: 200, body: "[]" });
  t.equal(standIn.calls.length, 2, "the refused connection never reached it");
  t.equal(standIn.clientData.length, 1);
});
