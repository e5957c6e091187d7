import { Pool } from "undici";
import type { Target } from "./targets.js";

/** A keep-alive client of the CHP route API (`/api/routes`), as JupyterHub drives it: one call at a time. */
export class RouteApi {
  private readonly pool: Pool;
  private readonly authorization: string;

  constructor(target: Target) {
    if (!target.apiUrl) throw new Error(`${target.kind} has no route API`);
    this.pool = new Pool(target.apiUrl, { connections: 1, keepAliveTimeout: 60_000 });
    this.authorization = `token ${target.token}`;
  }

  /** POSTs one route; resolves with the wall time in ms, rejects unless the answer is 201. */
  async add(routePath: string, data: Record<string, unknown>): Promise<number> {
    const started = performance.now();
    const { statusCode, body } = await this.pool.request({
      method: "POST",
      path: `/api/routes${routePath}`,
      headers: { authorization: this.authorization, "content-type": "application/json" },
      body: JSON.stringify(data),
    });
    await body.dump();
    const elapsed = performance.now() - started;
    if (statusCode !== 201) throw new Error(`POST /api/routes${routePath} answered ${statusCode}`);
    return elapsed;
  }

  /**
   * GETs the whole table; resolves with the wall time in ms until its last byte arrived and the number of routes.
   * Decoding and parsing the 1.4 MB come after the clock stops: undici's `body.text()` alone took 7-10 ms of a
   * 12-15 ms GET on this host, a cost of the client, the same whichever proxy answered.
   */
  async getAll(): Promise<{ ms: number; routes: number }> {
    const started = performance.now();
    const { statusCode, body } = await this.pool.request({
      method: "GET",
      path: "/api/routes",
      headers: { authorization: this.authorization },
    });
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    const ms = performance.now() - started;
    const text = Buffer.concat(chunks).toString();
    if (statusCode !== 200) throw new Error(`GET /api/routes answered ${statusCode}`);
    const table: unknown = JSON.parse(text);
    return { ms, routes: table !== null && typeof table === "object" ? Object.keys(table).length : 0 };
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
