import t from "tap";
import { csrfTokenMatches, SessionStore } from "../../../src/admin/session-store.js";

function store(options: { maxSessions?: number; lifetimeMs?: number } = {}) {
  let now = 1_000_000;
  const sessions = new SessionStore({
    lifetimeMs: options.lifetimeMs ?? 60_000,
    maxSessions: options.maxSessions ?? 3,
    now: () => now,
  });
  return { sessions, advance: (ms: number) => (now += ms) };
}

t.test("a session is found by its cookie value, never by its key", async (t) => {
  const { sessions } = store();
  const { id, session } = sessions.create();
  t.match(id, /^[A-Za-z0-9_-]{43}$/, "256 random bits, base64url");
  t.equal(sessions.get(id), session);
  t.not(session.key, id, "the map holds a hash, not the cookie value");
  t.equal(sessions.get(session.key), undefined, "the hash does not open the session");
  t.equal(sessions.get(undefined), undefined);
  t.equal(sessions.get(`${id}x`), undefined);
  t.equal(sessions.get("a".repeat(10_000)), undefined, "an oversized value is not even hashed");
  t.not(sessions.create().session.csrfToken, session.csrfToken, "each session its own CSRF token");
});

t.test("sessions end at their expiry; the sweep returns the ended ones", async (t) => {
  const { sessions, advance } = store({ lifetimeMs: 1000 });
  const first = sessions.create();
  advance(600);
  const second = sessions.create();
  t.equal(second.session.expiresAt - first.session.expiresAt, 600);
  advance(400);
  t.equal(sessions.get(first.id), undefined, "expired on look-up");
  t.equal(sessions.get(second.id), second.session);
  advance(600);
  t.same(sessions.sweep(), [second.session]);
  t.equal(sessions.size, 0);
});

t.test("bounded: signing in beyond the cap ends the oldest session", async (t) => {
  const { sessions } = store({ maxSessions: 3 });
  const made = [sessions.create(), sessions.create(), sessions.create()];
  const fourth = sessions.create();
  t.equal(fourth.ended, made[0]?.session, "the caller learns which one ended (to close its streams)");
  t.equal(sessions.size, 3);
  t.equal(sessions.get(made[0]?.id), undefined);
  t.ok(sessions.get(made[1]?.id));
  sessions.delete(fourth.session);
  t.equal(sessions.get(fourth.id), undefined, "signed out");
});

t.test("the CSRF token is compared exactly", async (t) => {
  const { sessions } = store();
  const { session } = sessions.create();
  t.ok(csrfTokenMatches(session, session.csrfToken));
  t.notOk(csrfTokenMatches(session, undefined));
  t.notOk(csrfTokenMatches(session, ""));
  t.notOk(csrfTokenMatches(session, `${session.csrfToken} `));
  t.notOk(csrfTokenMatches(session, session.csrfToken.slice(1)));
  t.notOk(csrfTokenMatches(session, [session.csrfToken, session.csrfToken]), "a repeated header is refused");
});
