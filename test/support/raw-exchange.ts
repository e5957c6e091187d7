import { connect } from "node:net";

/**
 * Sends `text` as is and collects everything the server writes until it closes the connection (or `waitMs`
 * passes: then `closedByServer` is false).
 */
export function rawExchange(
  target: { port: number } | { socketPath: string },
  text: string,
  waitMs = 3000,
): Promise<{ response: string; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = "port" in target ? connect(target.port, "127.0.0.1") : connect(target.socketPath);
    let response = "";
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ response, closedByServer: false });
    }, waitMs);
    socket.on("data", (chunk: Buffer) => (response += chunk.toString("latin1")));
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ response, closedByServer: true });
    });
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.write(text);
  });
}
