import { execFileSync } from "node:child_process";
import { closeSync, constants, openSync, readSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { LogOutput } from "../../../src/log/log-output.js";
import { tempDir, type Teardown } from "../../support/temp-dir.js";
import { waitUntil } from "../../support/wait.js";

// A FIFO opened for reading and writing at once, without blocking: the kernel's pipe buffer (64 KiB) that a reader
// empties only when the test reads, so the output meets a full pipe exactly as it does behind a stalled reader.
function stalledPipe(t: Teardown): { fd: number; readAll(): string } {
  const path = join(tempDir(t), "log.fifo");
  execFileSync("mkfifo", [path]);
  const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
  t.teardown(() => closeSync(fd));
  const chunk = Buffer.alloc(64 * 1024);
  return {
    fd,
    readAll() {
      let text = "";
      for (;;) {
        try {
          const read = readSync(fd, chunk);
          if (read === 0) return text;
          text += chunk.toString("latin1", 0, read);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === "EAGAIN") return text;
          throw error;
        }
      }
    },
  };
}

const line = (i: number) => `line ${String(i).padStart(6, "0")} ${"x".repeat(36)}\n`;

t.test(
  "a full pipe: lines held up to the limit, the rest dropped and counted, none reordered or cut",
  async (t) => {
    const pipe = stalledPipe(t);
    const dropped: number[] = [];
    const output = new LogOutput({
      fd: pipe.fd,
      limit: 256 * 1024,
      onDropped: (lines) => dropped.push(lines),
    });
    const total = 20000; // ≈ 1 MB: the pipe takes 64 KiB, up to 256 KiB are held, the rest is dropped
    for (let i = 0; i < total; i++) output.write(line(i));

    let text = pipe.readAll();
    // A line fits whole or waits (writes of up to 4 KiB into a pipe are atomic), so the pipe's last page may keep a gap.
    const inPipe = text.length;
    t.ok(inPipe > 60 * 1024 && inPipe <= 64 * 1024, `the pipe took what it holds (${inPipe} bytes)`);
    t.same(dropped, [], "nothing reported while lines are still held");
    await waitUntil(
      () => {
        text += pipe.readAll();
        return dropped.length > 0;
      },
      "the held lines written on the retry",
      5000,
    );
    text += pipe.readAll();
    const lines = text.split("\n").slice(0, -1);
    const kept = lines.length;
    const keptBytes = kept * line(0).length;
    t.ok(
      keptBytes - inPipe > 255 * 1024 && keptBytes - inPipe <= 256 * 1024,
      `the pipe's 64 KiB and 256 KiB held: ${kept} lines (${keptBytes} bytes)`,
    );
    t.same(
      lines,
      Array.from({ length: kept }, (_, i) => line(i).slice(0, -1)),
      "the first lines, whole and in order",
    );
    t.same(dropped, [total - kept], "every other line counted as dropped, once");
  },
);

t.test("while the reader keeps up, each line is written at once", async (t) => {
  const pipe = stalledPipe(t);
  const output = new LogOutput({ fd: pipe.fd, onDropped: () => t.fail("nothing to drop") });
  output.write(line(1));
  t.equal(pipe.readAll(), line(1), "the first");
  output.write(line(2));
  t.equal(pipe.readAll(), line(2), "the next");
});

/** A log file's disk as the output sees it: ENOSPC while full, else every byte taken. */
function disk(): {
  full: boolean;
  error?: string;
  text: string;
  calls: number;
  write(fd: number, data: string | Buffer): number;
} {
  return {
    full: false,
    text: "",
    calls: 0,
    write(_fd, data) {
      this.calls++;
      if (this.error) throw Object.assign(new Error(this.error), { code: this.error });
      if (this.full) throw Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" });
      this.text += data.toString();
      return Buffer.byteLength(data);
    },
  };
}

t.test("a full disk under a log file: lines held, and written once space is freed", async (t) => {
  const target = disk();
  const dropped: number[] = [];
  const output = new LogOutput({
    fd: 99,
    limit: 64 * 1024,
    onDropped: (lines) => dropped.push(lines),
    writeSync: (fd, data) => target.write(fd, data),
  });
  target.full = true;
  for (let i = 0; i < 2000; i++) output.write(line(i)); // ≈ 98 KB: 64 KiB held, the rest dropped
  t.equal(target.text, "", "nothing written while the disk is full");
  await new Promise((resolve) => setTimeout(resolve, 120));
  t.equal(target.text, "", "still nothing after a retry on a full disk");
  target.full = false;
  await waitUntil(() => dropped.length > 0, "the held lines written once space is freed", 5000);
  const lines = target.text.split("\n").slice(0, -1);
  t.ok(lines.length * line(0).length > 63 * 1024, `the held lines (${lines.length}) written`);
  t.same(
    lines,
    Array.from({ length: lines.length }, (_, i) => line(i).slice(0, -1)),
    "whole and in order",
  );
  t.same(dropped, [2000 - lines.length], "the rest counted as dropped");
  output.write(line(5000));
  t.ok(target.text.endsWith(line(5000)), "logging goes on");
});

t.test("any other error ends the output: no more writes are tried", async (t) => {
  const target = disk();
  const output = new LogOutput({
    fd: 99,
    onDropped: () => t.fail("nothing to drop"),
    writeSync: (fd, data) => target.write(fd, data),
  });
  output.write(line(1));
  target.error = "EIO";
  output.write(line(2));
  const calls = target.calls;
  target.error = undefined;
  output.write(line(3));
  await new Promise((resolve) => setTimeout(resolve, 120));
  t.equal(target.calls, calls, "no write after the error");
  t.equal(target.text, line(1), "only what was written before it");
});
