import { fileURLToPath } from "node:url";
import t from "tap";
import { startLoopbackProxy } from "../support/loopback-proxy.js";
import { startProcess } from "../support/proxy-process.js";

/*
 * Many kernel sockets streaming output at once, through the binary, with the benchmark's own kernel and client
 * (real `ws` clients, both wire formats, execute requests answered with 99 outputs and a reply each): every message
 * arrives, intact. A relay that let one socket's read overwrite bytes another socket still had to write sent
 * clients corrupt frames here (`ws` closes the socket on them, and messages go missing).
 */
const agent = (name: string) => fileURLToPath(new URL(`../../bench/lib/${name}.js`, import.meta.url));

for (const format of ["v1", "legacy"] as const) {
  t.test(`20 kernel sockets at once, ${format} format: every message arrives`, async (t) => {
    const kernel = startProcess(process.execPath, [
      agent("backend-server"),
      "--msgs-per-request",
      "100",
      "--content-bytes",
      "1400",
    ]);
    t.teardown(() => kernel.stop());
    await kernel.waitFor(/LISTENING \d+/);
    const kernelPort = Number(/LISTENING (\d+)/.exec(kernel.stdout())?.[1]);
    const proxy = await startLoopbackProxy(t, ["--default-target", `http://127.0.0.1:${kernelPort}`], {
      ready: /Route added \//,
    });
    const client = startProcess(process.execPath, [
      agent("ws-stream-client"),
      "--url",
      `ws://127.0.0.1:${proxy.port}`,
      "--connections",
      "20",
      "--requests",
      "50",
      "--msgs-per-request",
      "100",
      "--format",
      format,
      "--timeout-ms",
      "60000",
    ]);
    t.teardown(() => client.stop());
    t.equal(await client.exited(), 0, "the client ran to its end");
    const line = client
      .stdout()
      .split("\n")
      .find((l) => l.startsWith("RESULT "));
    t.ok(line, "and reported", { stdout: client.stdout(), stderr: client.stderr() });
    const result = JSON.parse(line?.slice("RESULT ".length) ?? "{}") as Record<string, unknown>;
    t.match(
      result,
      { incomplete: false, messages: 100_000, replies: 1000 },
      "100,000 messages, 1,000 replies",
    );
    t.equal(proxy.process.child.exitCode, null, "the proxy still runs");
  });
}
