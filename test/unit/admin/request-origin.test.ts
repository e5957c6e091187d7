import type { IncomingMessage } from "node:http";
import t from "tap";
import { clearedSessionCookie, cookieValue, sessionCookie } from "../../../src/admin/cookies.js";
import { fromSameOrigin } from "../../../src/admin/same-origin.js";

const request = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

t.test("a state change must come from the page's own origin", async (t) => {
  const host = "127.0.0.1:8002";
  t.ok(fromSameOrigin(request({ host, origin: "https://127.0.0.1:8002" }), true));
  t.ok(fromSameOrigin(request({ host, origin: "http://127.0.0.1:8002" }), false));
  t.notOk(fromSameOrigin(request({ host, origin: "http://127.0.0.1:8002" }), true), "scheme counts");
  t.notOk(fromSameOrigin(request({ host, origin: "https://127.0.0.1:8003" }), true), "port counts");
  t.notOk(fromSameOrigin(request({ host, origin: "https://evil.example" }), true));
  t.notOk(fromSameOrigin(request({ host, origin: "null" }), true), "an opaque origin");
  t.notOk(fromSameOrigin(request({ origin: "https://127.0.0.1:8002" }), true), "no Host");
  t.notOk(fromSameOrigin(request({ host, "sec-fetch-site": "cross-site" }), true));
  t.notOk(fromSameOrigin(request({ host, "sec-fetch-site": "same-site" }), true), "a sibling site is not us");
  t.ok(
    fromSameOrigin(
      request({ host, "sec-fetch-site": "same-origin", origin: "https://127.0.0.1:8002" }),
      true,
    ),
  );
  t.ok(fromSameOrigin(request({ host }), true), "a script without Origin (it still needs a token)");
});

t.test("the session cookie", async (t) => {
  t.equal(
    sessionCookie("abc", 8 * 3600_000, true),
    "ltictr_admin=abc; Path=/admin; Max-Age=28800; HttpOnly; SameSite=Strict; Secure",
  );
  t.notMatch(
    sessionCookie("abc", 1000, false),
    /Secure/,
    "not Secure over plain HTTP (the browser would drop it)",
  );
  t.match(
    clearedSessionCookie(true),
    /^ltictr_admin=; Path=\/admin; Max-Age=0; HttpOnly; SameSite=Strict; Secure$/,
  );
  t.equal(cookieValue("a=1; ltictr_admin=xyz; b=2", "ltictr_admin"), "xyz");
  t.equal(cookieValue("xltictr_admin=1", "ltictr_admin"), undefined);
  t.equal(cookieValue(undefined, "ltictr_admin"), undefined);
  t.equal(cookieValue("garbage;;=;", "ltictr_admin"), undefined);
});
