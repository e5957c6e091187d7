import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { connect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { freePort } from "./ports.js";
import { tempDir, type Teardown } from "./temp-dir.js";
import { sleep } from "./wait.js";

const REDIS_SERVER = "/usr/bin/redis-server";

export interface RedisServerOptions {
  /**
   * Keeps the data across `stop()`/`start()` (append-only file, written at every command, in a temp folder). Without
   * it the server keeps nothing on disk, and a restart starts empty.
   */
  persistent?: boolean;
  /** Serves TLS only (for `rediss://`), with this certificate; clients need no certificate. */
  tls?: { cert: string; key: string };
}

/**
 * Debian's `redis-server` on a free 127.0.0.1 port, its files in a temp folder. It can be stopped and started again
 * on the same port (outages), or paused (a server that stops answering while its connections stay open). Killed at
 * the test's teardown.
 */
export class RedisServer {
  private child: ChildProcess | undefined = undefined;
  private paused = false;
  private output: string[] = [];

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly persistent: boolean,
    private readonly tls: RedisServerOptions["tls"],
  ) {}

  static async start(t: Teardown, options: RedisServerOptions = {}): Promise<RedisServer> {
    const server = new RedisServer(
      await freePort(),
      tempDir(t, "ltictr-redis-"),
      options.persistent ?? false,
      options.tls,
    );
    t.teardown(() => server.kill());
    await server.start();
    return server;
  }

  /** `redis://127.0.0.1:<port>/<db>` (`rediss://localhost:…` with TLS), with `user:password@` when given. */
  url(db = 0, credentials?: { username: string; password: string }): string {
    const auth = credentials
      ? `${encodeURIComponent(credentials.username)}:${encodeURIComponent(credentials.password)}@`
      : "";
    return this.tls
      ? `rediss://${auth}localhost:${this.port}/${db}`
      : `redis://${auth}127.0.0.1:${this.port}/${db}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Starts the server (again, on the same port) and waits until it answers PING. */
  async start(): Promise<void> {
    if (this.child) throw new Error("redis-server is running already");
    const args = ["--bind", "127.0.0.1", "--dir", this.dir, "--save", ""];
    if (this.tls) {
      args.push("--port", "0", "--tls-port", String(this.port), "--tls-auth-clients", "no");
      args.push("--tls-cert-file", this.tls.cert, "--tls-key-file", this.tls.key);
    } else {
      args.push("--port", String(this.port));
    }
    args.push("--daemonize", "no", "--logfile", "", "--databases", "16");
    args.push(
      ...(this.persistent ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]),
    );
    const child = spawn(REDIS_SERVER, args, { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    this.output = [];
    const keep = (chunk: Buffer) => {
      this.output.push(chunk.toString());
      if (this.output.length > 50) this.output.shift();
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    child.on("exit", () => {
      if (this.child === child) this.child = undefined;
    });
    const deadline = Date.now() + 10000;
    while (!(await this.answers())) {
      if (!this.child || Date.now() > deadline) {
        await this.kill();
        throw new Error(`redis-server on port ${this.port} did not start:\n${this.output.join("")}`);
      }
      await sleep(20);
    }
  }

  /** SIGTERM, and waits for the exit (a persistent server has its data on disk by then). */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = once(child, "exit");
    if (this.paused) this.resume();
    child.kill("SIGTERM");
    await exited;
    this.child = undefined;
  }

  /** SIGSTOP: connections stay open, nothing is answered. */
  pause(): void {
    this.child?.kill("SIGSTOP");
    this.paused = true;
  }

  resume(): void {
    this.child?.kill("SIGCONT");
    this.paused = false;
  }

  private async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = once(child, "exit");
    if (this.paused) this.resume();
    child.kill("SIGKILL");
    this.child = undefined;
    await exited;
  }

  /** One PING on a fresh connection; false on any error or after a second. */
  private answers(): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = this.tls
        ? tlsConnect({ port: this.port, host: "127.0.0.1", rejectUnauthorized: false })
        : connect(this.port, "127.0.0.1");
      const ready = this.tls ? "secureConnect" : "connect";
      const done = (answer: boolean) => {
        clearTimeout(timer);
        socket.destroy();
        resolve(answer);
      };
      const timer = setTimeout(() => done(false), 1000);
      let reply = "";
      socket.on(ready, () => socket.write("PING\r\n"));
      socket.on("data", (chunk) => {
        reply += chunk.toString();
        if (reply.includes("\r\n")) done(reply.startsWith("+PONG"));
      });
      socket.on("error", () => done(false));
    });
  }
}
