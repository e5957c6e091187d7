import t from "tap";
import { emptyNbLog, type NbLog } from "../../../src/capture/nb-log-record.js";
import { encodeFormValue, encodeNbLog, encodeNbLogs } from "../../../src/delivery/moodle-form.js";

function log(fields: Partial<NbLog> & Pick<NbLog, "host">): NbLog {
  return { ...emptyNbLog(fields.host), ...fields };
}

// The three bodies the C proxy sends (ltictr, client, server records), byte for byte.
const CLIENT_BODY =
  "nb_logs[0][host]=client&nb_logs[0][inst_id]=&nb_logs[0][lti_id]=&nb_logs[0][session]=5c5cf4e2-67ac-4e4a-9478-7a88ca00d3e3&nb_logs[0][message]=93516bb8-e34b-4550-b0b2-abd133447431&nb_logs[0][status]=&nb_logs[0][username]=&nb_logs[0][cell_id]=e7bf0d72&nb_logs[0][tags]=%5B%22filename%3A+%E7%AC%AC10%E5%9B%9E%E6%BC%94%E7%BF%92.ipynb%22%2C%22codenum%3A+1%22%5D&nb_logs[0][date]=2023-06-27T05%3A53%3A13.789Z";
const SERVER_BODY =
  "nb_logs[0][host]=server&nb_logs[0][inst_id]=&nb_logs[0][lti_id]=&nb_logs[0][session]=5c5cf4e2-67ac-4e4a-9478-7a88ca00d3e3&nb_logs[0][message]=93516bb8-e34b-4550-b0b2-abd133447431&nb_logs[0][status]=ok&nb_logs[0][username]=iseki&nb_logs[0][cell_id]=&nb_logs[0][tags]=&nb_logs[0][date]=2023-06-27T05%3A53%3A14.841943Z";
const LTICTR_BODY =
  "nb_logs[0][host]=ltictr&nb_logs[0][inst_id]=6&nb_logs[0][lti_id]=13&nb_logs[0][session]=53ecb311-daa9-4004-a467-0967a059cdce&nb_logs[0][message]=&nb_logs[0][status]=&nb_logs[0][username]=&nb_logs[0][cell_id]=&nb_logs[0][tags]=&nb_logs[0][date]=";

t.test("the three record shapes of the wire spec, byte for byte", async (t) => {
  const client = log({
    host: "client",
    session: "5c5cf4e2-67ac-4e4a-9478-7a88ca00d3e3",
    message: "93516bb8-e34b-4550-b0b2-abd133447431",
    cell_id: "e7bf0d72",
    tags: '["filename: 第10回演習.ipynb","codenum: 1"]',
    date: "2023-06-27T05:53:13.789Z",
  });
  t.equal(encodeNbLog(client), CLIENT_BODY);
  t.equal(Buffer.byteLength(encodeNbLog(client)), 402, "Content-Length of the captured request");
  const server = log({
    host: "server",
    session: "5c5cf4e2-67ac-4e4a-9478-7a88ca00d3e3",
    message: "93516bb8-e34b-4550-b0b2-abd133447431",
    status: "ok",
    username: "iseki",
    date: "2023-06-27T05:53:14.841943Z",
  });
  t.equal(encodeNbLog(server), SERVER_BODY);
  const ltictr = log({
    host: "ltictr",
    inst_id: "6",
    lti_id: "13",
    session: "53ecb311-daa9-4004-a467-0967a059cdce",
  });
  t.equal(encodeNbLog(ltictr), LTICTR_BODY);
});

t.test("value encoding: literal set, space, every other byte upper-case hex", async (t) => {
  t.equal(encodeFormValue("AZaz09._-"), "AZaz09._-");
  t.equal(encodeFormValue("a b"), "a+b");
  t.equal(encodeFormValue("*~!'()+&=%/"), "%2A%7E%21%27%28%29%2B%26%3D%25%2F");
  t.equal(encodeFormValue("é😀"), "%C3%A9%F0%9F%98%80");
  t.equal(encodeFormValue("\n\0"), "%0A%00");
  t.equal(encodeFormValue("\ud800"), "%EF%BF%BD", "a lone surrogate becomes U+FFFD instead of throwing");
});

t.test("multi-record bodies number the records and keep all ten keys each", async (t) => {
  const body = encodeNbLogs([log({ host: "ltictr", session: "s" }), log({ host: "client", message: "m" })]);
  const keys = body.split("&").map((part) => part.slice(0, part.indexOf("=")));
  t.equal(keys.length, 20);
  t.equal(keys[0], "nb_logs[0][host]");
  t.equal(keys[9], "nb_logs[0][date]");
  t.equal(keys[10], "nb_logs[1][host]");
  t.match(body, /nb_logs\[1\]\[message\]=m&/);
  t.equal(encodeNbLogs([log({ host: "server" })]), encodeNbLog(log({ host: "server" })));
});
