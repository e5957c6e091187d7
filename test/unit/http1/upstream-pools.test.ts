import t from "tap";
import type { UpstreamPool } from "../../../src/http1/upstream-pool.js";
import { UpstreamPools } from "../../../src/http1/upstream-pools.js";
import { parseUpstreamTarget } from "../../../src/http1/upstream-target.js";
import { freePorts } from "../../support/ports.js";

// Nothing listens there: a request to an open pool is aborted while it connects.
const [portA, portB] = await freePorts(2);

const options = {
  connectionsPerOrigin: 2,
  keepAliveTimeoutMs: 1000,
  connectTimeoutMs: 1000,
  clientTls: { rejectUnauthorized: true },
};

/** The error code a request to `pool` fails with at once, if it does (a closed pool fails synchronously). */
function immediateFailure(pool: UpstreamPool): string | undefined {
  let code: string | undefined;
  const control = pool.request(
    { method: "GET", path: "/", headers: {}, body: null, timeoutMs: 0 },
    {
      onHead: () => undefined,
      onData: () => true,
      onEnd: () => undefined,
      onError: (error) => (code = (error as NodeJS.ErrnoException).code),
    },
  );
  control.abort();
  return code;
}

t.test("one pool per origin or socket, made on first use", async (t) => {
  const pools = new UpstreamPools(options);
  t.teardown(() => pools.close());
  const a = pools.for(parseUpstreamTarget(`http://127.0.0.1:${portA}/user/a`));
  t.equal(
    pools.for(parseUpstreamTarget(`http://127.0.0.1:${portA}/user/b?x=1`)),
    a,
    "same origin, other path",
  );
  t.not(pools.for(parseUpstreamTarget(`http://127.0.0.1:${portB}/`)), a, "other port");
  t.not(pools.for(parseUpstreamTarget(`https://127.0.0.1:${portA}/`)), a, "other scheme");
  const unix = pools.for(parseUpstreamTarget("http+unix://%2Ftmp%2Fa.sock/x"));
  t.equal(pools.for(parseUpstreamTarget("unix+http://%2Ftmp%2Fa.sock/y")), unix, "both UNIX spellings");
});

t.test("retainOnly closes the pools of origins no route uses", async (t) => {
  const pools = new UpstreamPools(options);
  t.teardown(() => pools.close());
  const keptTarget = parseUpstreamTarget(`http://127.0.0.1:${portA}/`);
  const droppedTarget = parseUpstreamTarget(`http://127.0.0.1:${portB}/`);
  const kept = pools.for(keptTarget);
  const dropped = pools.for(droppedTarget);
  pools.retainOnly(new Set([keptTarget.key]));
  t.equal(immediateFailure(dropped), "UPSTREAM_POOL_CLOSED");
  t.equal(immediateFailure(kept), undefined, "the kept pool still takes requests");
  t.equal(pools.for(keptTarget), kept);
  const fresh = pools.for(droppedTarget);
  t.not(fresh, dropped, "a route to the dropped origin later gets a new pool");
  t.equal(immediateFailure(fresh), undefined);
});

t.test("close closes every pool", async (t) => {
  const pools = new UpstreamPools(options);
  const a = pools.for(parseUpstreamTarget(`http://127.0.0.1:${portA}/`));
  const b = pools.for(parseUpstreamTarget(`http://127.0.0.1:${portB}/`));
  pools.close();
  t.equal(immediateFailure(a), "UPSTREAM_POOL_CLOSED");
  t.equal(immediateFailure(b), "UPSTREAM_POOL_CLOSED");
});
