import t from "tap";
import {
  assertNothingCrashed,
  assertRouteServes,
  echoes,
  holdClient,
  proxyFor,
  rawUpstream,
  SWITCHING,
  upgradeRequest,
} from "../support/adversarial.js";
import { waitUntil } from "../support/wait.js";

/*
 * jupyter_server answers a kernel channel upgrade only once the kernel has answered kernel_info, which it waits
 * up to 60 s for (`kernel_info_timeout`). Before: the upgrade's 10 s deadline also covered the wait for the 101,
 * so kernels that started slowly got 503; CHP waits.
 */

const ANSWER_AFTER_MS = 12_000;

t.test(
  "an upstream that answers the upgrade after 12 s: the client gets the 101 and the socket relays",
  async (t) => {
    const upstream = await rawUpstream(t, (request, socket) => {
      if (echoes(request, socket)) return;
      setTimeout(() => {
        // A 101 and, right behind it, a text frame "hello".
        socket.write(SWITCHING);
        socket.write(Buffer.from([0x81, 0x05, ...Buffer.from("hello")]));
      }, ANSWER_AFTER_MS);
    });
    const proxy = await proxyFor(t, upstream.url);
    const startedAt = Date.now();
    const client = await holdClient(t, proxy.port, upgradeRequest("/user/a/api/kernels/k/channels"));
    await waitUntil(
      () => client.received().length > 0 || client.isClosed(),
      "an answer to the upgrade",
      30_000,
    );
    await waitUntil(
      () => client.received().endsWith("hello") || client.isClosed(),
      "the relayed frame",
      5000,
    ).catch(() => undefined);
    const text = client.received();
    t.match(text, /^HTTP\/1\.1 101 /, `101 after ${Date.now() - startedAt} ms`);
    t.ok(text.endsWith("\x81\x05hello"), "the upstream's first frame is relayed");
    t.notOk(client.isClosed(), "the WebSocket stays open");
    await assertRouteServes(t, proxy, "beside the open WebSocket");
    assertNothingCrashed(t, proxy);
  },
);
