import { connect, createServer } from "node:net";

/** A TCP port on 127.0.0.1 that nothing listens on right now (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolve(address.port);
        else reject(new Error("no port"));
      });
    });
  });
}

/**
 * Distinct free ports (freePort alone can hand out one port twice when nothing binds in between), none of them in
 * `taken`: ports picked earlier for a process that has not bound them yet.
 */
export async function freePorts(count: number, taken: Iterable<number> = []): Promise<number[]> {
  const skipped = new Set(taken);
  const ports = new Set<number>();
  while (ports.size < count) {
    const port = await freePort();
    if (!skipped.has(port)) ports.add(port);
  }
  return [...ports];
}

/** Whether something on 127.0.0.1 accepts a TCP connection on `port`. */
export function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
