import t from "tap";
import {
  assertBackToBaseline,
  assertNothingCrashed,
  assertRouteServes,
  echoes,
  settledFootprint,
  holdClient,
  inParallel,
  proxyFor,
  rawRequest,
  rawUpstream,
  repetitions,
  type RawAnswer,
} from "../support/adversarial.js";
import { waitUntil } from "../support/wait.js";

/*
 * Upstream answers that Node's ServerResponse refuses to write. Before: when `writeHead` threw, the exchange was
 * not aborted: the client got no answer and an open socket, or a 200 with every upstream header (and the proxy's
 * own launch cookie) dropped, plus unhandled rejections; and each piece decoded from one read added its own
 * `drain` listener when the client was slow.
 */

const HEADS: Record<string, string> = {
  "control byte in the reason": "HTTP/1.1 200 O\x01K\r\nContent-Length: 2\r\nX-Test: kept\r\n\r\nok",
  "DEL in a header value": "HTTP/1.1 200 OK\r\nX-Test: kept\r\nX-Bad: a\x7fb\r\nContent-Length: 2\r\n\r\nok",
  "NUL in a header value": "HTTP/1.1 200 OK\r\nX-Test: kept\r\nX-Bad: a\x00b\r\nContent-Length: 2\r\n\r\nok",
  "status below 100": "HTTP/1.1 099 Low\r\nX-Test: kept\r\nContent-Length: 2\r\n\r\nok",
  "status above 999": "HTTP/1.1 1000 High\r\nX-Test: kept\r\nContent-Length: 2\r\n\r\nok",
};

/** A complete 502/503, or the answer passed on whole with its headers: never a hang, never headers dropped. */
function clearAnswer(answer: RawAnswer): boolean {
  if (answer.status === 502 || answer.status === 503)
    return answer.closed || /\r\n\r\n[\s\S]+/.test(answer.text);
  return (
    answer.status === 200 && /\r\nx-test: kept\r\n/i.test(answer.text) && answer.text.endsWith("\r\n\r\nok")
  );
}

t.test("heads Node will not write: a clear answer every time, the route keeps working", async (t) => {
  const upstream = await rawUpstream(t, (request, socket) => {
    if (echoes(request, socket)) return;
    socket.write(Buffer.from(HEADS[decodeURIComponent(request.path.slice(1))] ?? "", "latin1"));
  });
  const proxy = await proxyFor(t, upstream.url);
  await assertRouteServes(t, proxy, "warm-up");
  const baseline = await settledFootprint(proxy);
  const names = Object.keys(HEADS);
  const count = repetitions(300);
  const unclear = new Map<string, string>();
  await inParallel(count, 20, async (i) => {
    const name = names[i % names.length];
    const answer = await rawRequest(
      proxy.port,
      `GET /${encodeURIComponent(name)} HTTP/1.1\r\nHost: hub\r\nConnection: close\r\n\r\n`,
      { waitMs: 5000 },
    );
    if (!clearAnswer(answer)) unclear.set(name, JSON.stringify(answer.text.slice(0, 200)));
  });
  for (const name of names) t.notOk(unclear.get(name), `${name}: a complete error or the answer whole`);
  await assertRouteServes(t, proxy, "after the bad heads");
  await assertBackToBaseline(t, proxy, baseline, `${count} answers Node refuses to write`);
  assertNothingCrashed(t, proxy);
});

t.test("a chunked answer of many small pieces to a client that reads late: one drain listener", async (t) => {
  const pieces = 20_000;
  const piece = "p".repeat(100);
  const body = Buffer.from(`${`64\r\n${piece}\r\n`.repeat(pieces)}0\r\n\r\n`, "latin1");
  const upstream = await rawUpstream(t, (request, socket) => {
    if (echoes(request, socket)) return;
    socket.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    socket.write(body);
  });
  const proxy = await proxyFor(t, upstream.url);
  const client = await holdClient(
    t,
    proxy.port,
    "GET /pieces HTTP/1.1\r\nHost: hub\r\nConnection: close\r\n\r\n",
    {
      read: "nothing",
    },
  );
  await new Promise((resolve) => setTimeout(resolve, 1500));
  client.socket.resume();
  await waitUntil(() => client.isClosed(), "the whole answer", 10_000);
  const text = client.received();
  const decoded = text
    .slice(text.indexOf("\r\n\r\n") + 4)
    .replace(/\r\n[0-9a-f]+\r\n/g, "")
    .replace(/^[0-9a-f]+\r\n/, "");
  t.equal((decoded.match(/p/g) ?? []).length, pieces * piece.length, "every byte arrived");
  t.notMatch(proxy.process.stderr(), /MaxListenersExceeded/, "no listener leak warning");
  await assertRouteServes(t, proxy, "after the slow read");
  assertNothingCrashed(t, proxy);
});
