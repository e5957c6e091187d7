import { closeSync, openSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import t from "tap";
import { createLogger } from "../../../src/log/logger.js";

// Text lines are made from what pino hands its stream (level, formatted message, the logged object, the time):
// checked here against the line CHP writes and the JSON line pino makes of the same call. Colour (which tap's
// FORCE_COLOR would switch on) is checked on its own.
const forceColour = process.env.FORCE_COLOR;
delete process.env.FORCE_COLOR;

async function linesOf(format: "text" | "json", log: (logger: ReturnType<typeof createLogger>) => void) {
  const dir = await mkdtemp(path.join(tmpdir(), "ltictr-logger-"));
  const file = path.join(dir, "log");
  const fd = openSync(file, "w");
  try {
    log(createLogger({ fd, format, level: "debug" }));
    return readFileSync(file, "utf8").split("\n").slice(0, -1);
  } finally {
    closeSync(fd);
    await rm(dir, { recursive: true, force: true });
  }
}

t.test("text lines: CHP's shape, the time pino took, printf-style arguments", async (t) => {
  const before = Date.now();
  const [line] = await linesOf("text", (log) => log.info("Route added %s -> %s", "/user/a", "http://x:1"));
  const match = /^(\S+) \[ConfigProxy\] info: Route added \/user\/a -> http:\/\/x:1$/.exec(line);
  t.ok(match, line);
  const time = Date.parse(match?.[1] ?? "");
  t.ok(time >= before && time <= Date.now(), "the line's time is the call's");
});

t.test("text lines: each level's name; a message-less call leaves the message empty", async (t) => {
  const lines = await linesOf("text", (log) => {
    log.debug("d");
    log.warn("w %d", 3);
    log.error({ user: "x" });
  });
  t.match(lines[0], / \[ConfigProxy\] debug: d$/);
  t.match(lines[1], / \[ConfigProxy\] warn: w 3$/);
  t.match(lines[2], / \[ConfigProxy\] error: $/);
});

t.test("text lines: an error's stack with its causes follows, as in the JSON line", async (t) => {
  const error = new Error("outer", { cause: new Error("inner") });
  const [text] = await linesOf("text", (log) => log.error({ err: error }, "Failed %s", "x"));
  const [json] = await linesOf("json", (log) => log.error({ err: error }, "Failed %s", "x"));
  const stack = (JSON.parse(json) as { err: { stack: string } }).err.stack;
  t.match(stack, /caused by: Error: inner/);
  const all = (await linesOf("text", (log) => log.error({ err: error }, "Failed %s", "x"))).join("\n");
  t.match(text, / \[ConfigProxy\] error: Failed x$/);
  t.ok(all.endsWith(`Failed x\n${stack}`), "the stack lines after the message");
  const [thrown] = await linesOf("text", (log) => log.error(new Error("as first argument")));
  t.match(thrown, / error: as first argument$/, "an error logged alone gives its message");
  const [plain] = await linesOf("text", (log) => log.error({ err: "a string" }, "m"));
  t.match(plain, / error: m$/, "a non-error err adds nothing");
});

t.test("text lines: the level in CHP's colours when colour is forced", async (t) => {
  process.env.FORCE_COLOR = forceColour ?? "1";
  try {
    const [line] = await linesOf("text", (log) => log.warn("w"));
    t.ok(line.endsWith(" [ConfigProxy] \x1b[33mwarn\x1b[39m: w"), JSON.stringify(line));
  } finally {
    delete process.env.FORCE_COLOR;
  }
});
