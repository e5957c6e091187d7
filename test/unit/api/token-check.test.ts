import t from "tap";
import { SecretMatcher } from "../../../src/api/secret-compare.js";
import { TokenCheck } from "../../../src/api/token-check.js";

t.test(
  "a secret matches itself and nothing else: not a prefix, an extension, a NUL-padded copy",
  async (t) => {
    const secrets = [
      "a",
      "0123456789abcdef".repeat(4),
      "秀樹-トークン",
      "x".repeat(255),
      "y".repeat(256),
      "z".repeat(700),
    ];
    for (const secret of secrets) {
      const matcher = new SecretMatcher(secret);
      const label = `${secret.slice(0, 12)}… (${Buffer.byteLength(secret)} bytes)`;
      t.ok(matcher.matches(secret), `${label}: itself`);
      t.ok(matcher.matches(secret), `${label}: itself again (the scratch buffer is cleared)`);
      for (const other of [
        "",
        secret.slice(0, -1),
        `${secret}x`,
        `${secret}\0`,
        `${secret}\0\0\0\0`,
        `x${secret.slice(1)}`,
        `${secret.slice(0, -1)}\0`,
        secret.toUpperCase() === secret ? secret.toLowerCase() : secret.toUpperCase(),
        "q".repeat(1000),
      ]) {
        if (other !== secret)
          t.notOk(matcher.matches(other), `${label}: not ${JSON.stringify(other.slice(0, 20))}`);
      }
    }
  },
);

t.test("a wrong offer does not spoil the next check", async (t) => {
  const matcher = new SecretMatcher("right");
  t.notOk(matcher.matches("rightly and much longer than the secret"));
  t.ok(matcher.matches("right"));
  t.notOk(matcher.matches("righ"));
  t.ok(matcher.matches("right"));
});

t.test("TokenCheck: JupyterHub's `token` scheme, `Bearer`, any case; nothing else", async (t) => {
  const check = new TokenCheck("s3cret");
  t.notOk(check.open);
  for (const header of ["token s3cret", "Token s3cret", "bearer s3cret", "BEARER   s3cret ", " token s3cret"])
    t.ok(check.allows(header), header);
  for (const header of [
    undefined,
    "",
    "s3cret",
    "token",
    "token s3cre",
    "token s3cret2",
    "basic s3cret",
    "token s3 cret",
  ])
    t.notOk(check.allows(header), String(header));
});

t.test("TokenCheck without a token is open", async (t) => {
  const check = new TokenCheck(undefined);
  t.ok(check.open);
  t.ok(check.allows(undefined));
  t.ok(check.allows("token anything"));
});
