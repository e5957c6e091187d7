import type { ResponseHead } from "./response-head.js";
import type { UpstreamRequest } from "./upstream-exchange.js";
import type { UpstreamPool } from "./upstream-pool.js";

export interface BufferedResponse {
  head: ResponseHead;
  body: Buffer;
  /** False when the body was cut at the size limit (the connection is then dropped, not reused). */
  complete: boolean;
}

/**
 * One small request/response, the body collected in memory up to `limitBytes`, the whole exchange bounded by
 * `deadlineMs`. For the proxy's own calls (error pages, Moodle), never for proxied traffic.
 */
export function fetchBuffered(
  pool: UpstreamPool,
  request: UpstreamRequest,
  limitBytes: number,
  deadlineMs: number,
): Promise<BufferedResponse> {
  return new Promise((resolve, reject) => {
    let head: ResponseHead | undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (complete: boolean) => {
      clearTimeout(deadline);
      if (head) resolve({ head, body: Buffer.concat(chunks, size), complete });
      else reject(new Error("no response"));
    };
    const exchange = pool.request(request, {
      onHead: (received) => {
        head = received;
      },
      onData: (chunk) => {
        const room = limitBytes - size;
        chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
        size += Math.min(chunk.length, room);
        if (size >= limitBytes) {
          exchange.abort();
          finish(false);
        }
        return true;
      },
      onEnd: () => finish(true),
      onError: (error) => {
        clearTimeout(deadline);
        reject(error);
      },
    });
    const deadline = setTimeout(() => {
      exchange.abort();
      reject(Object.assign(new Error(`no complete answer within ${deadlineMs} ms`), { code: "ETIMEDOUT" }));
    }, deadlineMs);
    deadline.unref();
  });
}
