import t from "tap";
import { emptyNbLog, type CapturedRecord } from "../../../src/capture/nb-log-record.js";
import type { MoodleDestination } from "../../../src/lti/launch-context.js";
import {
  MoodleDestinations,
  normaliseOrigin,
  parseMoodleBase,
} from "../../../src/delivery/moodle-destinations.js";

function record(destination?: MoodleDestination): CapturedRecord {
  return { log: emptyNbLog("ltictr"), stream: "s", capturedAt: 0, destination };
}

t.test("URL normalisation", async (t) => {
  t.equal(normaliseOrigin("https://Moodle.Example:443/moodle"), "https://moodle.example");
  t.equal(normaliseOrigin("http://moodle.example:8080"), "http://moodle.example:8080");
  t.equal(normaliseOrigin("ftp://moodle.example"), undefined);
  t.equal(normaliseOrigin("not a url"), undefined);
  t.same(parseMoodleBase("https://moodle.example:443/moodle/"), {
    origin: "https://moodle.example",
    basePath: "/moodle",
  });
  t.same(parseMoodleBase("https://moodle.example"), { origin: "https://moodle.example", basePath: "" });
  t.equal(parseMoodleBase("https://user:pw@moodle.example"), undefined, "no credentials in URLs");
  t.equal(parseMoodleBase("https://moodle.example/?x=1"), undefined);
  t.equal(parseMoodleBase("file:///etc/passwd"), undefined);
});

t.test("precedence: allowed launch destination, else configured Moodle, else refused", async (t) => {
  const destinations = new MoodleDestinations({
    configured: { baseUrl: "https://main.example/moodle", token: "conf" },
    allowOrigins: ["https://other.example:443"],
  });
  t.same(destinations.resolve(record()), {
    target: { origin: "https://main.example", basePath: "/moodle", token: "conf" },
  });
  t.same(destinations.resolve(record({ baseUrl: "https://other.example:443/lms", token: "launch" })), {
    target: { origin: "https://other.example", basePath: "/lms", token: "launch" },
  });
  t.same(
    destinations.resolve(record({ baseUrl: "https://main.example:443/moodle", token: "launch" })),
    { target: { origin: "https://main.example", basePath: "/moodle", token: "launch" } },
    "the configured Moodle's origin is allowed implicitly",
  );
  t.same(destinations.resolve(record({ baseUrl: "http://169.254.169.254/latest", token: "x" })), {
    refused: "moodle_not_allowed",
    origin: "http://169.254.169.254",
  });
  t.same(destinations.resolve(record({ baseUrl: "https://other.example:8443", token: "x" })), {
    refused: "moodle_not_allowed",
    origin: "https://other.example:8443",
  });
  t.same(destinations.resolve(record({ baseUrl: "javascript:alert(1)", token: "x" })), {
    refused: "invalid_moodle_url",
  });
});

t.test("without a configured Moodle", async (t) => {
  const destinations = new MoodleDestinations({ allowOrigins: [] });
  t.same(destinations.resolve(record()), { refused: "no_moodle" });
  t.same(destinations.resolve(record({ baseUrl: "https://x.example", token: "t" })), {
    refused: "moodle_not_allowed",
    origin: "https://x.example",
  });
});

t.test("configuration errors throw", async (t) => {
  t.throws(() => new MoodleDestinations({ allowOrigins: ["nonsense"] }), /allow-list/);
  t.throws(
    () => new MoodleDestinations({ configured: { baseUrl: "moodle.example", token: "t" }, allowOrigins: [] }),
    /invalid Moodle URL/,
  );
});
