import t from "tap";
import { pino } from "pino";
import {
  ExecutionTracker,
  PendingExecutions,
  type ExecutionTrackerOptions,
} from "../../../src/capture/execution-tracker.js";
import type { CapturedRecord } from "../../../src/capture/nb-log-record.js";
import type { JsonObject } from "../../../src/json-object.js";
import { kernelMessage, type KernelMessage } from "../../../src/jupyter/kernel-message.js";
import { ProxyMetrics } from "../../../src/metrics/metrics.js";

const KERNEL = "0f6e3c4a-2b1d-4e5f-8a9b-0c1d2e3f4a5b";
const SESSION = "af6d49e7-cdd7-404d-acc8-f724c7e5974e";
const LAUNCH = {
  instId: "6",
  ltiId: "13",
  serverUrl: "https://moodle.example:443",
  serverPath: "/moodle",
  rpcToken: "feedbeef",
};

function request(
  msgId: string,
  metadata: JsonObject,
  content: JsonObject = { silent: false },
): KernelMessage {
  return kernelMessage(
    "shell",
    {
      msg_id: msgId,
      msg_type: "execute_request",
      session: SESSION,
      date: "2021-07-25T03:40:39.162Z",
      username: "",
    },
    {},
    metadata,
    content,
  );
}

function reply(
  msgId: string,
  content: JsonObject,
  extra: { metadata?: JsonObject; username?: string } = {},
): KernelMessage {
  return kernelMessage(
    "shell",
    {
      msg_id: `k_${msgId}`,
      msg_type: "execute_reply",
      session: "kernel-session",
      username: extra.username ?? "bob",
      date: "2021-07-25T03:40:43.894624Z",
    },
    { msg_id: msgId, msg_type: "execute_request", session: SESSION },
    extra.metadata ?? {},
    content,
  );
}

function setup(overrides: Partial<ExecutionTrackerOptions> = {}) {
  const records: CapturedRecord[] = [];
  const logs: JsonObject[] = [];
  const logger = pino(
    { level: "debug" },
    { write: (line: string) => logs.push(JSON.parse(line) as JsonObject) },
  );
  const pending = overrides.pending ?? new PendingExecutions();
  const tracker = new ExecutionTracker({
    kernelId: KERNEL,
    sessionId: SESSION,
    sink: { accept: (record) => records.push(record) },
    pending,
    logger,
    now: () => 1234,
    ...overrides,
  });
  return { tracker, records, logs, pending };
}

t.test("a cell run gives a client record and its reply a server record", async (t) => {
  const { tracker, records } = setup({ launch: LAUNCH });
  tracker.connected();
  tracker.clientMessage(request("m1", { cellId: "cell-1", tags: ["問題１", "raises-exception"] }));
  tracker.serverMessage(reply("m1", { status: "ok", execution_count: 1 }));
  const destination = { baseUrl: "https://moodle.example:443/moodle", token: "feedbeef" };
  t.same(records, [
    {
      log: {
        host: "ltictr",
        inst_id: "6",
        lti_id: "13",
        session: SESSION,
        message: "",
        status: "",
        username: "",
        cell_id: "",
        tags: "",
        date: "",
      },
      stream: SESSION,
      capturedAt: 1234,
      destination,
    },
    {
      log: {
        host: "client",
        inst_id: "",
        lti_id: "",
        session: SESSION,
        message: "m1",
        status: "",
        username: "",
        cell_id: "cell-1",
        tags: '["問題１","raises-exception"]',
        date: "2021-07-25T03:40:39.162Z",
      },
      stream: SESSION,
      capturedAt: 1234,
      destination,
    },
    {
      log: {
        host: "server",
        inst_id: "",
        lti_id: "",
        session: SESSION,
        message: "m1",
        status: "ok",
        username: "bob",
        cell_id: "",
        tags: "",
        date: "2021-07-25T03:40:43.894624Z",
      },
      stream: SESSION,
      capturedAt: 1234,
      destination,
    },
  ]);
});

t.test("no launch: no ltictr record, no destination (the configured Moodle)", async (t) => {
  const { tracker, records } = setup();
  tracker.connected();
  tracker.clientMessage(request("m1", { cellId: "c" }));
  t.equal(records.length, 1);
  t.equal(records[0]!.log.host, "client");
  t.notOk("destination" in records[0]!);
  t.equal(records[0]!.log.tags, "", "no tags → empty");
});

t.test(
  "no session_id in the URL: no ltictr record, stream falls back to the message's session",
  async (t) => {
    const { tracker, records } = setup({ sessionId: undefined, launch: LAUNCH });
    tracker.connected();
    tracker.clientMessage(request("m1", { cellId: "c" }));
    t.equal(records.length, 1);
    t.equal(records[0]!.stream, SESSION);
  },
);

t.test("requests that are not cell runs, and their replies, are not reported", async (t) => {
  const { tracker, records } = setup();
  tracker.clientMessage(request("silent", { cellId: "c" }, { silent: true }));
  tracker.clientMessage(request("nocell", { recordTiming: false }));
  tracker.serverMessage(reply("silent", { status: "ok" }));
  tracker.serverMessage(reply("nocell", { status: "ok" }));
  t.same(records, []);
});

t.test("replies to requests not seen here are reported (replayed after a reconnect)", async (t) => {
  const pending = new PendingExecutions();
  const first = setup({ pending });
  first.tracker.clientMessage(request("m1", { cellId: "c" }));
  first.tracker.clientMessage(request("quiet", {}, { silent: true }));
  const second = setup({ pending });
  second.tracker.serverMessage(reply("m1", { status: "error" }));
  second.tracker.serverMessage(reply("quiet", { status: "ok" }));
  second.tracker.serverMessage(reply("never-seen", { status: "ok" }));
  t.same(
    second.records.map((r) => [r.log.message, r.log.status]),
    [
      ["m1", "error"],
      ["never-seen", "ok"],
    ],
  );
  t.equal(pending.size, 0, "answered requests are forgotten");
});

t.test("status, username and other fields", async (t) => {
  const { tracker, records } = setup({ routeUser: "route-user" });
  tracker.serverMessage(reply("a", { status: "aborted" }));
  tracker.serverMessage(reply("b", {}, { metadata: { status: "error" } }));
  tracker.serverMessage(reply("c", { status: "ok" }, { metadata: { status: "error" } }));
  tracker.serverMessage(reply("d", { status: 5 }, { username: "" }));
  t.same(
    records.map((r) => [r.log.status, r.log.username]),
    [
      ["aborted", "bob"],
      ["error", "bob"],
      ["ok", "bob"],
      ["", "route-user"],
    ],
  );
});

t.test("other message types and channels are ignored", async (t) => {
  const { tracker, records } = setup();
  const onControl = request("m1", { cellId: "c" });
  tracker.clientMessage({ ...onControl, channel: "control" });
  tracker.serverMessage({ ...reply("m1", { status: "ok" }), channel: "iopub" });
  tracker.clientMessage(reply("m2", { status: "ok" }));
  tracker.serverMessage(request("m3", { cellId: "c" }));
  t.same(records, []);
});

t.test("values longer than Moodle's columns are cut, and logged once per field", async (t) => {
  const { tracker, records, logs } = setup();
  const longId = "x".repeat(50);
  const longCell = "問".repeat(45);
  tracker.clientMessage(request(longId, { cellId: longCell }));
  tracker.clientMessage(request(`${longId}2`, { cellId: "short" }));
  tracker.serverMessage(reply(longId, { status: "s".repeat(40) }, { username: "u".repeat(33) }));
  t.equal(records[0]!.log.message, "x".repeat(42));
  t.equal(records[0]!.log.cell_id, "問".repeat(42), "counted in characters");
  t.equal(records[1]!.log.message, "x".repeat(42));
  t.equal(records[2]!.log.message, records[0]!.log.message, "client and server cut alike, still joinable");
  t.equal(records[2]!.log.status, "s".repeat(32));
  t.equal(records[2]!.log.username, "u".repeat(32));
  const warnings = logs.filter((l) => l.level === 40).map((l) => l.field);
  t.same(warnings, ["message", "cell_id", "status", "username"]);
});

t.test("remembered requests that were not cell runs expire and are bounded", async (t) => {
  let clock = 1000;
  const pending = new PendingExecutions({ max: 3, ttlMs: 1000, now: () => clock });
  pending.rememberNonCellRun(KERNEL, SESSION, "old");
  clock = 3000;
  t.equal(pending.takeNonCellRun(KERNEL, SESSION, "old"), false, "expired after the TTL");
  for (const id of ["a", "b", "c", "d"]) pending.rememberNonCellRun(KERNEL, SESSION, id);
  t.equal(pending.size, 3);
  t.equal(pending.takeNonCellRun(KERNEL, SESSION, "a"), false, "least recently used dropped");
  t.equal(pending.takeNonCellRun(KERNEL, SESSION, "d"), true);
  t.equal(pending.takeNonCellRun("other-kernel", SESSION, "b"), false, "keyed by kernel too");
  t.equal(pending.takeNonCellRun(KERNEL, SESSION, "b"), true);
  t.equal(pending.takeNonCellRun(KERNEL, SESSION, "b"), false, "taken once");
});

t.test("cell runs are not remembered: their replies are reported like replies never seen", async (t) => {
  const pending = new PendingExecutions();
  const { tracker, records } = setup({ pending });
  tracker.clientMessage(request("run", { cellId: "c" }));
  tracker.clientMessage(request("inspect", {}, { silent: true }));
  t.equal(pending.size, 1, "only the request that is not a cell run waits");
  tracker.serverMessage(reply("run", { status: "ok" }));
  tracker.serverMessage(reply("inspect", { status: "ok" }));
  t.same(
    records.map((r) => [r.log.host, r.log.message]),
    [
      ["client", "run"],
      ["server", "run"],
    ],
  );
  t.equal(pending.size, 0);
});

t.test("a failing sink is logged and capture goes on; metrics count executions", async (t) => {
  const metrics = new ProxyMetrics({ defaultMetrics: false });
  let calls = 0;
  t.teardown(() => metrics.close());
  const { tracker, logs } = setup({
    launch: LAUNCH,
    sink: {
      accept: () => {
        calls++;
        if (calls === 2) throw new Error("spool full");
      },
    },
  });
  tracker.connected();
  tracker.clientMessage(request("m1", { cellId: "c" }));
  tracker.clientMessage(request("m2", { cellId: "c" }));
  tracker.serverMessage(reply("m2", { status: "ok" }));
  tracker.serverMessage(reply("m1", { status: "error" }));
  t.equal(calls, 5);
  t.equal(logs.filter((l) => l.level === 50).length, 1);
  t.notMatch(JSON.stringify(logs), "feedbeef", "the token is not logged");
  const values = (await metrics.executions.get()).values.map((v) => [
    v.labels.kind,
    v.labels.status,
    v.value,
  ]);
  t.same(values.sort(), [
    ["client", "none", 1],
    ["server", "error", 1],
    ["server", "ok", 1],
  ]);
});
