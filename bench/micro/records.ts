/**
 * Micro-benchmarks of a captured record's way out, no files or sockets: its spool line written (JSON) and read back
 * (parsed and checked, as recovery reads it), and the Moodle form body built for it (every value form-encoded byte
 * by byte). The records are what a notebook produces: a server record with a cell id, a client record with tags
 * and a non-ASCII user name.
 *
 *   npm run build && node dist/bench/micro/records.js [--rounds 15] [--only form]
 */
import type { CapturedRecord } from "../../src/capture/nb-log-record.js";
import { encodeNbLog } from "../../src/delivery/moodle-form.js";
import { decodeEntry, encodeEntry } from "../../src/delivery/spool/record-codec.js";
import { runMicro, type MicroCase } from "./harness.js";

const RECORDS: CapturedRecord[] = [
  {
    log: {
      host: "server",
      inst_id: "12",
      lti_id: "3",
      session: "0f6c2b1e-7d0a-4f59-9a4e-2b7c91d2e6a1",
      message: "6d2b4c9e-1a7f-4e3b-8c5d-0e9f1a2b3c4d",
      status: "ok",
      username: "s2026001",
      cell_id: "b8f5e3a2-9c4d-4e1f-a6b7-c8d9e0f1a2b3",
      tags: "",
      date: "2026-12-02T13:40:12.345Z",
    },
    stream: "0f6c2b1e-7d0a-4f59-9a4e-2b7c91d2e6a1",
    capturedAt: 1_796_219_212_345,
  },
  {
    log: {
      host: "client",
      inst_id: "12",
      lti_id: "3",
      session: "0f6c2b1e-7d0a-4f59-9a4e-2b7c91d2e6a1",
      message: "6d2b4c9e-1a7f-4e3b-8c5d-0e9f1a2b3c4d",
      status: "",
      username: "山田 太郎",
      cell_id: "b8f5e3a2-9c4d-4e1f-a6b7-c8d9e0f1a2b3",
      tags: "exercise-1, graded",
      date: "2026-12-02T13:40:12.301Z",
    },
    stream: "0f6c2b1e-7d0a-4f59-9a4e-2b7c91d2e6a1",
    destination: { baseUrl: "https://moodle.example.org", token: "0123456789abcdef0123456789abcdef" },
    capturedAt: 1_796_219_212_301,
  },
];
const LINES = RECORDS.map((record, id) => encodeEntry(id, record));

const cases: MicroCase[] = [
  {
    name: "spool line of a record (encode)",
    ops: RECORDS.length,
    run() {
      let length = 0;
      RECORDS.forEach((record, id) => (length += encodeEntry(id, record).length));
      return length;
    },
  },
  {
    name: "spool line read back and checked (decode)",
    ops: LINES.length,
    run() {
      let ids = 0;
      for (const line of LINES) ids += (decodeEntry(line)?.id ?? -100) + 1;
      return ids;
    },
  },
  {
    name: "Moodle form body of a record",
    ops: RECORDS.length,
    run() {
      let length = 0;
      for (const record of RECORDS) length += encodeNbLog(record.log).length;
      return length;
    },
  },
];

runMicro("records micro-benchmark", cases);
