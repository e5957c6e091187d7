import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { once } from "node:events";
import { NB_LOG_FIELDS } from "../../src/capture/nb-log-record.js";

/*
 * A stand-in for Moodle's REST web-service server with mod_lticontainer's `mod_lticontainer_write_nblogs`,
 * close to the real thing where the proxy can notice a difference:
 *  - `POST|GET <prefix>/webservice/rest/server.php`, parameters from query and form body merged like
 *    `array_merge($_GET, $_POST)`, PHP-style keys (`nb_logs[0][host]`);
 *  - answers HTTP 200 with Moodle's exception JSON (`{"exception","errorcode","message","debuginfo"}`,
 *    keys in that order) for unknown tokens (invalidtoken), functions outside the service (accessexception),
 *    unknown functions (invalidrecord), parameter validation (invalidparameter: unknown keys, non-text values,
 *    values PARAM_TEXT would change) and database errors (dmlwriteexception: values longer than the columns,
 *    non-integer ids, course of an unknown LTI);
 *  - success body `[]`: Moodle json_encode()s the value clean_returnvalue() makes of the empty
 *    external_single_structure that write_nblogs declares, an empty PHP array;
 *  - only `nb_logs[0]` is processed, like the released plugin (option `multiRecord` processes every entry,
 *    like a patched one); entries are all validated first, like validate_parameters() does;
 *  - tables like mod_lticontainer's db/install.xml, with its column sizes and NULL semantics.
 * Fault injection: setMode("down" | "503" | "deadlock" | "up"), setDelay(ms).
 */

export interface SessionRow {
  id: number;
  session: string;
  course: number;
  inst_id: number;
  lti_id: number;
  updatetm: number;
}
export interface ClientRow {
  id: number;
  session: string;
  message: string;
  cell_id: string | null;
  filename: string | null;
  date: string;
  updatetm: number;
}
export interface ServerRow {
  id: number;
  session: string;
  message: string;
  status: string | null;
  username: string | null;
  date: string;
  updatetm: number;
}
export interface TagRow {
  id: number;
  cell_id: string;
  tags: string;
  filename: string | null;
  codenum: string | null;
  updatetm: number;
}

/** One row of the chart query (mod_lticontainer locallib_db.php). */
export interface ChartRow {
  date: string;
  updatetm: number;
  username: string | null;
  status: string | null;
  cell_id: string | null;
  lti_id: number;
  course: number;
  filename: string | null;
  codenum: string | null;
}

export interface ReceivedCall {
  method: string;
  path: string;
  wstoken?: string;
  wsfunction?: string;
  format?: string;
  /** Raw request body. */
  body: string;
  status: number;
  response: string;
}

/** A processed nb_logs entry and what the plugin made of it. */
export interface ProcessedLog {
  log: Record<string, string>;
  outcome: "ok" | string;
}

/** `deadlock`: every write fails like MySQL's deadlock detector, as Moodle reports it (HTTP 200, dmlwriteexception). */
export type StandInMode = "up" | "down" | "503" | "deadlock";

export interface StandInOptions {
  tokens?: string[];
  /** Moodle's wwwroot path, e.g. `/moodle`; empty by default. */
  pathPrefix?: string;
  /** `lti` table: lti id → course id. */
  lti?: Record<number, number>;
  multiRecord?: boolean;
}

class MoodleException extends Error {
  constructor(
    readonly exception: string,
    readonly errorcode: string,
    message: string,
    readonly debuginfo?: string,
  ) {
    super(message);
  }
}

const invalidParameter = (debuginfo: string) =>
  new MoodleException(
    "invalid_parameter_exception",
    "invalidparameter",
    "Invalid parameter value detected",
    debuginfo,
  );
const dmlWrite = (debuginfo: string) =>
  new MoodleException("dml_write_exception", "dmlwriteexception", "Error writing to database", debuginfo);

type Params = Map<string, ParamValue>;
type ParamValue = string | Params | undefined;

/** PHP's urldecode: `+` → space, `%XX` → byte, malformed escapes literal; bytes kept (may be invalid UTF-8). */
function phpDecode(text: string): Buffer {
  const bytes: number[] = [];
  const raw = Buffer.from(text, "latin1");
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === 0x2b) bytes.push(0x20);
    else if (c === 0x25 && /^[0-9A-Fa-f]{2}$/.test(raw.subarray(i + 1, i + 3).toString("latin1"))) {
      bytes.push(Number.parseInt(raw.subarray(i + 1, i + 3).toString("latin1"), 16));
      i += 2;
    } else bytes.push(c);
  }
  return Buffer.from(bytes);
}

/** PHP's parse_str into nested maps; values as UTF-8 strings, or undefined when not valid UTF-8. */
function parsePhpQuery(text: string, into: Params): void {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  for (const pair of text.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const name = phpDecode(eq < 0 ? pair : pair.slice(0, eq)).toString("utf8");
    let value: string | undefined;
    try {
      value = decoder.decode(phpDecode(eq < 0 ? "" : pair.slice(eq + 1)));
    } catch {
      value = undefined;
    }
    const match = /^([^[]+)((?:\[[^\]]*\])*)$/.exec(name);
    if (!match) continue;
    const path = [match[1], ...[...match[2].matchAll(/\[([^\]]*)\]/g)].map((m) => m[1])];
    let node = into;
    for (let i = 0; i < path.length - 1; i++) {
      let child = node.get(path[i]);
      if (!(child instanceof Map)) {
        child = new Map();
        node.set(path[i], child);
      }
      node = child;
    }
    node.set(path[path.length - 1], value);
  }
}

/** Whether clean_param(PARAM_TEXT) would change the value (validate_param then throws). */
function paramTextChanges(value: string): boolean {
  return value.includes("\0") || /<[A-Za-z/!?]/.test(value);
}

function charLength(value: string | null): number {
  return value === null ? 0 : [...value].length;
}

function sqlEquals(a: string | null, b: string | null): boolean {
  return a !== null && b !== null && a === b;
}

/** Moodle normalises '' to 0 for integer columns; other non-integers fail in MySQL strict mode. */
function intColumn(name: string, value: string | undefined): number {
  if (value === undefined || value === "") return 0;
  if (!/^-?\d+$/.test(value)) throw dmlWrite(`Incorrect integer value: '${value}' for column '${name}'`);
  return Number(value);
}

function strtotime(date: string): number {
  const ms = Date.parse(date);
  return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
}

export class MoodleStandIn {
  readonly calls: ReceivedCall[] = [];
  /** HTTP requests that arrived (counted before any delay; `calls` are recorded when answered). */
  received = 0;
  readonly processed: ProcessedLog[] = [];
  readonly session: SessionRow[] = [];
  readonly clientData: ClientRow[] = [];
  readonly serverData: ServerRow[] = [];
  readonly tags: TagRow[] = [];
  private readonly tokens: Set<string>;
  private readonly lti: Map<number, number>;
  private readonly sockets = new Set<Socket>();
  private nextId = 1;
  private mode: StandInMode = "up";
  private delayMs = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly options: StandInOptions,
  ) {
    this.tokens = new Set(options.tokens ?? []);
    this.lti = new Map(Object.entries(options.lti ?? {}).map(([id, course]) => [Number(id), course]));
  }

  static async start(options: StandInOptions = {}): Promise<MoodleStandIn> {
    const server = createServer();
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const address = server.address();
    if (!address || typeof address !== "object") throw new Error("stand-in has no port");
    const standIn = new MoodleStandIn(server, address.port, options);
    server.on("request", (req, res) => standIn.handle(req, res));
    server.on("connection", (socket: Socket) => {
      standIn.sockets.add(socket);
      socket.on("close", () => standIn.sockets.delete(socket));
    });
    return standIn;
  }

  /** Moodle's wwwroot as the proxy is configured with it. */
  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}${this.options.pathPrefix ?? ""}`;
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  addToken(token: string): void {
    this.tokens.add(token);
  }

  seedLti(ltiId: number, course: number): void {
    this.lti.set(ltiId, course);
  }

  setDelay(ms: number): void {
    this.delayMs = ms;
  }

  async setMode(mode: StandInMode): Promise<void> {
    const listening = this.server.listening;
    this.mode = mode;
    if (mode === "down" && listening) {
      const closed = once(this.server, "close");
      this.server.close();
      for (const socket of this.sockets) socket.destroy();
      await closed;
    } else if (mode !== "down" && !listening) {
      this.server.listen(this.port, "127.0.0.1");
      await once(this.server, "listening");
    }
  }

  async close(): Promise<void> {
    if (this.server.listening) await this.setMode("down");
  }

  /** The chart query of locallib_db.php; rows keyed by SERVER.date like get_records_sql (a later row wins). */
  chartRows(query: {
    course: number;
    instId: number;
    start: number;
    end: number;
    ltiIds?: number[];
  }): ChartRow[] {
    const byDate = new Map<string, ChartRow>();
    for (const server of this.serverData) {
      if (server.updatetm < query.start || server.updatetm > query.end) continue;
      for (const client of this.clientData.filter((c) => c.message === server.message)) {
        for (const session of this.session.filter((s) => s.session === server.session)) {
          if (session.course !== query.course || session.inst_id !== query.instId) continue;
          if (query.ltiIds && !query.ltiIds.includes(session.lti_id)) continue;
          const tags = this.tags.filter(
            (tag) =>
              sqlEquals(client.cell_id, tag.cell_id) &&
              (sqlEquals(client.filename, tag.filename) || client.filename === ""),
          );
          for (const tag of tags.length > 0 ? tags : [undefined]) {
            byDate.set(server.date, {
              date: server.date,
              updatetm: server.updatetm,
              username: server.username,
              status: server.status,
              cell_id: client.cell_id,
              lti_id: session.lti_id,
              course: session.course,
              filename: tag?.filename ?? null,
              codenum: tag?.codenum ?? null,
            });
          }
        }
      }
    }
    return [...byDate.values()];
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.received += 1;
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("latin1");
      const respond = () => this.respond(req, body, res);
      if (this.delayMs > 0) setTimeout(respond, this.delayMs);
      else respond();
    });
  }

  private respond(req: IncomingMessage, body: string, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://stand-in");
    const call: ReceivedCall = {
      method: req.method ?? "",
      path: url.pathname,
      body,
      status: 200,
      response: "",
    };
    this.calls.push(call);
    const send = (status: number, type: string, text: string) => {
      call.status = status;
      call.response = text;
      res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(text) });
      res.end(text);
    };
    if (this.mode === "503") return send(503, "text/html", "<h1>503 Service Unavailable</h1>");
    if (url.pathname !== `${this.options.pathPrefix ?? ""}/webservice/rest/server.php`) {
      return send(404, "text/html", "<h1>404 Not Found</h1>");
    }
    const params: Params = new Map();
    parsePhpQuery(url.search.slice(1), params);
    if (
      req.method === "POST" &&
      (req.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")
    ) {
      parsePhpQuery(body, params);
    }
    const text = (name: string) => {
      const value = params.get(name);
      params.delete(name);
      return typeof value === "string" ? value : undefined;
    };
    call.wstoken = text("wstoken");
    call.wsfunction = text("wsfunction");
    call.format = text("moodlewsrestformat");
    try {
      if (this.mode === "deadlock")
        throw dmlWrite(
          "Deadlock found when trying to get lock; try restarting transaction\n" +
            "INSERT INTO mdl_lticontainer_client_data (session,message,cell_id,filename,date,updatetm) VALUES(?,?,?,?,?,?)",
        );
      this.run(call, params);
      send(200, "application/json; charset=utf-8", "[]");
    } catch (error) {
      const e =
        error instanceof MoodleException
          ? error
          : new MoodleException("coding_exception", "codingerror", String(error));
      const json: Record<string, string> = {
        exception: e.exception,
        errorcode: e.errorcode,
        message: e.message,
      };
      if (e.debuginfo !== undefined) json.debuginfo = e.debuginfo;
      send(200, "application/json; charset=utf-8", JSON.stringify(json));
    }
  }

  private run(call: ReceivedCall, params: Params): void {
    if (call.wstoken === undefined || !this.tokens.has(call.wstoken)) {
      throw new MoodleException("moodle_exception", "invalidtoken", "Invalid token - token not found");
    }
    if (call.wsfunction !== "mod_lticontainer_write_nblogs") {
      if (call.wsfunction && /^(core|mod|tool|local|block)_/.test(call.wsfunction)) {
        throw new MoodleException(
          "webservice_access_exception",
          "accessexception",
          "Access control exception",
        );
      }
      throw new MoodleException(
        "dml_missing_record_exception",
        "invalidrecord",
        "Can't find data record in database table external_functions.",
      );
    }
    const logs = this.validate(params);
    for (const log of this.options.multiRecord ? logs : logs.slice(0, 1)) {
      try {
        this.writeNbLog(log);
        this.processed.push({ log, outcome: "ok" });
      } catch (error) {
        this.processed.push({
          log,
          outcome: error instanceof MoodleException ? error.errorcode : String(error),
        });
        throw error;
      }
    }
  }

  /** validate_parameters() for write_nblogs_parameters(). */
  private validate(params: Params): Record<string, string>[] {
    const unexpected = [...params.keys()].filter((key) => key !== "nb_logs");
    if (unexpected.length > 0)
      throw invalidParameter(`Unexpected keys (${unexpected.join(", ")}) detected in parameter array.`);
    const list = params.get("nb_logs");
    if (list === undefined) throw invalidParameter("Missing required key in single structure: nb_logs");
    if (!(list instanceof Map)) throw invalidParameter("nb_logs => Only arrays accepted.");
    const logs: Record<string, string>[] = [];
    for (const [index, entry] of list) {
      if (!(entry instanceof Map)) throw invalidParameter(`nb_logs => ${index} => Only arrays accepted.`);
      const extra = [...entry.keys()].filter((key) => !(NB_LOG_FIELDS as readonly string[]).includes(key));
      if (extra.length > 0)
        throw invalidParameter(
          `nb_logs => Unexpected keys (${extra.join(", ")}) detected in parameter array.`,
        );
      const log: Record<string, string> = { host: "ltictr" };
      for (const [key, value] of entry) {
        if (typeof value !== "string" || paramTextChanges(value)) {
          throw invalidParameter(`nb_logs => ${index} => ${key} => Invalid parameter value detected`);
        }
        log[key] = value;
      }
      logs.push(log);
    }
    if (!list.has("0")) throw invalidParameter("nb_logs => 0 => Missing required entry");
    const first = logs.splice([...list.keys()].indexOf("0"), 1);
    return [...first, ...logs];
  }

  private checkLength(table: string, column: string, value: string | null, max: number): void {
    if (charLength(value) > max) throw dmlWrite(`Data too long for column '${column}' of ${table}`);
  }

  /** mod_lticontainer_external::write_nblogs (externallib.php). */
  private writeNbLog(log: Record<string, string>): void {
    const get = (key: string): string | undefined => log[key];
    const now = Math.floor(Date.now() / 1000);
    const date = get("date");
    if (log.host === "server") {
      const session = get("session") ?? "";
      const message = get("message") ?? "";
      const paired = this.clientData.some((row) => row.session === session && row.message === message);
      const status = paired ? (get("status") ?? null) : `${get("status") ?? ""}/nc`;
      const row: ServerRow = {
        id: 0,
        session,
        message,
        status,
        username: get("username") ?? null,
        date: date ?? "0",
        updatetm: date ? strtotime(date) : now,
      };
      this.checkRow("lticontainer_server_data", row, {
        session: 42,
        message: 42,
        status: 32,
        username: 32,
        date: 32,
      });
      row.id = this.nextId++;
      this.serverData.push(row);
    } else if (log.host === "client") {
      const updatetm = date ? strtotime(date) : now;
      let filename: string | null = null;
      let codenum: string | null = null;
      const cellId = get("cell_id") ?? null;
      const tags = get("tags") ?? "";
      if (tags !== "") {
        for (const match of tags.matchAll(/"(filename|codenum):[\t\n\v\f\r ]*([^"]+)"/gu)) {
          if (match[1] === "filename") filename = match[2];
          else codenum = match[2];
        }
        const existing = this.tags.find(
          (row) =>
            row.cell_id === cellId && (filename === null ? row.filename === null : row.filename === filename),
        );
        if (!existing) {
          const row: TagRow = { id: 0, cell_id: cellId ?? "", tags, filename, codenum, updatetm };
          if (cellId === null) throw dmlWrite("Field 'cell_id' doesn't have a default value");
          this.checkRow("lticontainer_tags", row, { cell_id: 42, filename: 255, codenum: 12 });
          row.id = this.nextId++;
          this.tags.push(row);
        } else if (codenum !== existing.codenum) {
          this.checkRow("lticontainer_tags", { codenum }, { codenum: 12 });
          Object.assign(existing, { tags, filename, codenum, updatetm });
        }
      }
      const row: ClientRow = {
        id: 0,
        session: get("session") ?? "",
        message: get("message") ?? "",
        cell_id: cellId,
        filename,
        date: date ?? "0",
        updatetm,
      };
      this.checkRow("lticontainer_client_data", row, {
        session: 42,
        message: 42,
        cell_id: 42,
        filename: 255,
        date: 32,
      });
      row.id = this.nextId++;
      this.clientData.push(row);
    } else if ((get("lti_id") ?? "") !== "") {
      const session = get("session") ?? "";
      if (this.session.some((row) => row.session === session)) return;
      const ltiId = intColumn("lti_id", get("lti_id"));
      const course = this.lti.get(ltiId);
      if (course === undefined) throw dmlWrite("Column 'course' cannot be null");
      const row: SessionRow = {
        id: 0,
        session,
        course,
        inst_id: intColumn("inst_id", get("inst_id")),
        lti_id: ltiId,
        updatetm: now,
      };
      this.checkRow("lticontainer_session", row, { session: 42 });
      row.id = this.nextId++;
      this.session.push(row);
    }
  }

  private checkRow(table: string, row: object, limits: Record<string, number>): void {
    const values = row as Record<string, unknown>;
    for (const [column, max] of Object.entries(limits)) {
      const value = values[column];
      this.checkLength(table, column, typeof value === "string" ? value : null, max);
    }
  }
}

/** Moodle's chart classification: `ok` and `ok/nc` are OK, everything else is an error. */
export function isOkStatus(status: string | null): boolean {
  return status === "ok" || status === "ok/nc";
}

export interface OkErrorCount {
  ok: number;
  error: number;
}

function countBy(rows: readonly ChartRow[], key: (row: ChartRow) => string): Map<string, OkErrorCount> {
  const counts = new Map<string, OkErrorCount>();
  for (const row of rows) {
    const name = key(row);
    const count = counts.get(name) ?? { ok: 0, error: 0 };
    if (isOkStatus(row.status)) count.ok += 1;
    else count.error += 1;
    counts.set(name, count);
  }
  return counts;
}

/** What chart_users_bar shows: OK / ERROR per user name. */
export function countsPerUser(rows: readonly ChartRow[]): Map<string, OkErrorCount> {
  return countBy(rows, (row) => row.username ?? "");
}

/** What chart_codecell_bar shows: OK / ERROR per codenum (`999` when a cell has none). */
export function countsPerCodenum(rows: readonly ChartRow[]): Map<string, OkErrorCount> {
  return countBy(rows, (row) => row.codenum ?? "999");
}
