import t from "tap";
import {
  RECORD_RETRY_WINDOW_MS,
  classifyMoodleResponse,
  requestPath,
} from "../../../src/delivery/moodle-call.js";

const exception = (errorcode: string, message = "m") =>
  JSON.stringify({ exception: "moodle_exception", errorcode, message });

t.test("success bodies are acknowledgements", async (t) => {
  for (const body of ["[]", "{}", "null", ' {"session":"x"} ']) {
    t.same(classifyMoodleResponse(200, body), { kind: "acknowledged" }, body);
  }
  t.same(
    classifyMoodleResponse(
      200,
      "<br />\n<b>Warning</b>: Undefined property: stdClass::$filename in externallib.php\n[]",
    ),
    { kind: "acknowledged" },
    "PHP notices before the result",
  );
});

t.test("Moodle exceptions (HTTP 200) by errorcode", async (t) => {
  for (const code of [
    "invalidtoken",
    "accessexception",
    "nopermissions",
    "servicenotavailable",
    "invalidparameter",
    "enablewsdescription",
    "invalidrecord",
    "somethingnew",
  ]) {
    const outcome = classifyMoodleResponse(200, exception(code, "Invalid token - token not found"));
    t.equal(outcome.kind, "dead-letter", code);
    if (outcome.kind === "dead-letter") {
      t.equal(outcome.errorcode, code);
      t.match(outcome.reason, new RegExp(`Moodle error ${code}: Invalid token`));
    }
  }
  for (const code of ["sitemaintenance", "dbconnectionfailed", "dmlreadexception"]) {
    const outcome = classifyMoodleResponse(200, exception(code));
    t.equal(outcome.kind, "retry", code);
    t.equal(outcome.kind === "retry" ? outcome.giveUpAfterMs : -1, undefined, `${code}: never given up`);
  }
  const write = classifyMoodleResponse(200, exception("dmlwriteexception"));
  t.same(
    write.kind === "retry" ? write.giveUpAfterMs : undefined,
    RECORD_RETRY_WINDOW_MS,
    "other write errors: retried for a while, then dead",
  );
  const deadlocks = [
    {
      message: "Error writing to database",
      debuginfo: "Deadlock found when trying to get lock; try restarting transaction",
    },
    {
      message: "Error writing to database",
      debuginfo: "Lock wait timeout exceeded; try restarting transaction",
    },
    { message: "Error writing to database", debuginfo: "MySQL server has gone away" },
    { message: "Deadlock found when trying to get lock", debuginfo: "" },
  ];
  for (const { message, debuginfo } of deadlocks) {
    const outcome = classifyMoodleResponse(
      200,
      JSON.stringify({
        exception: "dml_write_exception",
        errorcode: "dmlwriteexception",
        message,
        debuginfo,
      }),
    );
    t.equal(outcome.kind, "retry", `${debuginfo || message}: retried`);
    t.equal(
      outcome.kind === "retry" ? outcome.giveUpAfterMs : -1,
      undefined,
      "as an unavailable Moodle: never given up",
    );
  }
  const otherClass = classifyMoodleResponse(
    200,
    JSON.stringify({
      exception: "moodle_exception",
      errorcode: "generalexceptionmessage",
      message: "Deadlock found when trying to get lock",
    }),
  );
  t.equal(otherClass.kind, "retry", "a deadlock is transient whatever the exception class");
  t.same(classifyMoodleResponse(200, exception("invalidresponse")), { kind: "acknowledged" });
  t.equal(classifyMoodleResponse(200, "<b>Notice</b>: x\n" + exception("invalidtoken")).kind, "dead-letter");
});

t.test("HTTP status and unrecognised bodies", async (t) => {
  for (const status of [408, 429, 500, 502, 503, 504])
    t.equal(classifyMoodleResponse(status, "").kind, "retry", `${status}`);
  for (const status of [301, 302, 400, 401, 403, 404])
    t.equal(classifyMoodleResponse(status, "").kind, "dead-letter", `${status}`);
  t.equal(classifyMoodleResponse(200, "<html>proxy login</html>").kind, "retry");
});

t.test("request path: wwwroot path, REST path, token, function, JSON format", async (t) => {
  t.equal(
    requestPath({ origin: "https://m.example", basePath: "/moodle", token: "ab cd" }),
    "/moodle/webservice/rest/server.php?wstoken=ab%20cd&wsfunction=mod_lticontainer_write_nblogs&moodlewsrestformat=json",
  );
  t.match(
    requestPath({ origin: "https://m.example", basePath: "", token: "t" }),
    /^\/webservice\/rest\/server\.php\?/,
  );
});
