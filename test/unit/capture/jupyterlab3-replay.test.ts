/**
 * Replays the JupyterLab 3 capture through KernelSocketTap in both wire formats — legacy JSON text frames and
 * v1 binary frames — as real byte streams: masked client frames, unmasked server frames, random read
 * boundaries, pings/pongs in between, some client messages fragmented. The records must be exactly what the
 * C proxy extracted (client.rslt, server.rslt), plus one `ltictr` record per socket from the launch cookie.
 */
import t from "tap";
import { pino } from "pino";
import { KernelSocketTap } from "../../../src/capture/kernel-socket-tap.js";
import { LaunchCookieCodec } from "../../../src/lti/launch-cookie.js";
import { NB_LOG_FIELDS, type CapturedRecord, type NbLog } from "../../../src/capture/nb-log-record.js";
import { V1_SUBPROTOCOL } from "../../../src/jupyter/wire-format.js";
import {
  OP_BINARY,
  OP_CONTINUATION,
  OP_PING,
  OP_PONG,
  OP_TEXT,
  encodeFrame,
  randomBytesFrom,
  randomInt,
  seededRandom,
  splitRandomly,
} from "../../support/frame-builder.js";
import { tempDir } from "../../support/temp-dir.js";
import { encodeV1, loadCapture, loadResults, pythonJson, type JsonObject } from "./jupyterlab3-capture.js";

const client = loadCapture("client.dat");
const server = loadCapture("server.dat");
const expectedClient = loadResults("client.rslt");
const expectedServer = loadResults("server.rslt");

const LAUNCH = {
  instId: "6",
  ltiId: "13",
  serverUrl: "https://moodle.example:443",
  serverPath: "/moodle",
  rpcToken: "0123456789abcdef0123456789abcdef",
};
const URL_TOKEN = "jupyter-url-token-not-for-logs";

type Format = "legacy" | "v1";

function sessionOf(message: JsonObject, key: "header" | "parent_header"): string | undefined {
  const part = message[key] as JsonObject | undefined;
  return typeof part?.session === "string" ? part.session : undefined;
}

/** The browser sessions (WebSocket session_ids) in order of appearance. */
const sessions = [...new Set(client.messages.map((m) => sessionOf(m, "header")!))];

function clientStream(messages: JsonObject[], format: Format, random: () => number): Buffer {
  const frames: Buffer[] = [];
  const key = () => randomBytesFrom(random, 4);
  for (const message of messages) {
    const payload =
      format === "legacy" ? Buffer.from(JSON.stringify(message)) : encodeV1(message, JSON.stringify);
    const opcode = format === "legacy" ? OP_TEXT : OP_BINARY;
    if (random() < 0.3) {
      // Fragmented as browsers do for big messages, with a control frame between the fragments.
      const cut = 1 + randomInt(random, payload.length - 1);
      frames.push(encodeFrame({ opcode, fin: false, payload: payload.subarray(0, cut), maskKey: key() }));
      frames.push(encodeFrame({ opcode: OP_PONG, payload: Buffer.from("pong"), maskKey: key() }));
      frames.push(encodeFrame({ opcode: OP_CONTINUATION, payload: payload.subarray(cut), maskKey: key() }));
    } else {
      frames.push(encodeFrame({ opcode, payload, maskKey: key() }));
    }
    if (random() < 0.2) frames.push(encodeFrame({ opcode: OP_PONG, maskKey: key() }));
  }
  return Buffer.concat(frames);
}

function serverStream(messages: JsonObject[], format: Format, random: () => number): Buffer {
  const frames: Buffer[] = [];
  for (const message of messages) {
    // jupyter_server: legacy = json.dumps (ASCII escapes); v1 = the kernel's own packing (stdlib json, UTF-8).
    const payload =
      format === "legacy"
        ? Buffer.from(pythonJson(message, true))
        : encodeV1(message, (part) => pythonJson(part, false));
    frames.push(encodeFrame({ opcode: format === "legacy" ? OP_TEXT : OP_BINARY, payload }));
    if (random() < 0.2) frames.push(encodeFrame({ opcode: OP_PING, payload: Buffer.from("ping") }));
  }
  return Buffer.concat(frames);
}

function expectedLog(host: "client" | "server", entry: Record<string, string>): NbLog {
  const log = Object.fromEntries(NB_LOG_FIELDS.map((f) => [f, ""])) as NbLog;
  log.host = host;
  log.session = entry.PSESSION!;
  log.message = entry.MESSAGEID!;
  log.date = entry.DATE!;
  if (host === "client") {
    log.cell_id = entry.CELLID!;
    log.tags = entry.TAGS ?? "";
  } else {
    log.username = entry.USERNAMNE!;
    log.status = entry.STATUS!;
  }
  return log;
}

async function replay(format: Format, seed: number, codec: LaunchCookieCodec) {
  const random = seededRandom(seed);
  const records: CapturedRecord[] = [];
  const logLines: string[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => logLines.push(line) });
  const factory = new KernelSocketTap({
    sink: { accept: (r) => records.push(r) },
    logger,
    cookieCodec: codec,
  });
  const cookie = `jupyterhub-session-id=abc; ${codec.seal(LAUNCH).split(";")[0]}`;
  const unchanged: [Buffer, Buffer][] = [];

  sessions.forEach((session, index) => {
    const kernelId = `00000000-0000-4000-8000-${String(index).padStart(12, "0")}`;
    const tap = factory.tapFor({
      url: `/user/bob/api/kernels/${kernelId}/channels?session_id=${session}&token=${URL_TOKEN}`,
      headers: { cookie, "sec-websocket-extensions": "permessage-deflate; client_max_window_bits" },
      routePrefix: "/user/bob",
      routeUser: "bob",
    });
    if (!tap) throw new Error("kernel channel not tapped");
    const upgradeHeaders: Record<string, string | string[] | undefined> = {
      "Sec-WebSocket-Extensions": "permessage-deflate",
      "sec-websocket-protocol": V1_SUBPROTOCOL,
    };
    tap.prepareRequest(upgradeHeaders);
    if ("Sec-WebSocket-Extensions" in upgradeHeaders) throw new Error("extensions header kept");
    tap.opened(format === "v1" ? { "sec-websocket-protocol": V1_SUBPROTOCOL } : {});

    const mine = client.messages.filter((m) => sessionOf(m, "header") === session);
    // Replies go to the socket of the session that asked; kernel-originated messages to the first socket.
    const replies = server.messages.filter((m) => {
      const parent = sessionOf(m, "parent_header");
      return parent === session || (index === 0 && !sessions.includes(parent ?? ""));
    });
    const up = splitRandomly(clientStream(mine, format, random), random, 700);
    const down = splitRandomly(serverStream(replies, format, random), random, 1500);
    for (const chunk of [...up, ...down]) unchanged.push([chunk, Buffer.from(chunk)]);
    while (up.length > 0 || down.length > 0) {
      if (down.length === 0 || (up.length > 0 && random() < 0.5)) tap.clientBytes(up.shift()!);
      else tap.serverBytes(down.shift()!);
    }
    tap.closed();
  });
  return { records, logLines, unchanged };
}

t.test("the capture files", async (t) => {
  t.equal(client.messages.length, 44);
  t.equal(server.messages.length, 195);
  t.equal(client.repaired.length, 0);
  t.equal(server.repaired.length, 5, "5 of 239 blocks are mangled");
  t.same(
    server.repaired.map((i) => (server.messages[i]!.header as JsonObject).msg_type),
    ["error", "error", "execute_reply", "error", "execute_reply"],
  );
  t.equal(expectedClient.length, 12);
  t.equal(expectedServer.length, 10);
  t.equal(sessions.length, 8);
});

const keyDir = tempDir(t, "ltictr-replay-");

for (const format of ["legacy", "v1"] as const) {
  for (const seed of [1, 2, 3, 4, 5]) {
    t.test(`${format} frames, seed ${seed}`, async (t) => {
      const codec = await LaunchCookieCodec.open(keyDir);
      const { records, logLines, unchanged } = await replay(format, seed, codec);
      const byHost = (host: string) => records.filter((r) => r.log.host === host);

      t.same(
        byHost("client").map((r) => r.log),
        sessions
          .flatMap((s) => expectedClient.filter((e) => e.PSESSION === s))
          .map((e) => expectedLog("client", e)),
        "client records = client.rslt (per session in capture order)",
      );
      t.same(
        byHost("server").map((r) => r.log),
        sessions
          .flatMap((s) => expectedServer.filter((e) => e.PSESSION === s))
          .map((e) => expectedLog("server", e)),
        "server records = server.rslt (per session in capture order)",
      );
      t.equal(byHost("client").length, 12);
      t.equal(byHost("server").length, 10);
      t.same(
        byHost("ltictr").map((r) => [r.log.session, r.log.inst_id, r.log.lti_id]),
        sessions.map((s) => [s, "6", "13"]),
        "one ltictr record per socket",
      );
      t.ok(
        records.every((r) => r.stream === r.log.session),
        "each record is ordered in its socket's session stream",
      );
      t.ok(
        records.every(
          (r) =>
            r.destination?.baseUrl === "https://moodle.example:443/moodle" &&
            r.destination.token === LAUNCH.rpcToken,
        ),
        "records go to the launch's Moodle",
      );
      t.ok(
        unchanged.every(([seen, copy]) => seen.equals(copy)),
        "no byte shown to the tap was modified",
      );
      const logs = logLines.join("");
      t.notMatch(logs, URL_TOKEN, "the URL's token is never logged");
      t.notMatch(logs, LAUNCH.rpcToken, "the Moodle token is never logged");
      t.notMatch(logs, /"level":(40|50)/, "no warnings or errors");
    });
  }
}
