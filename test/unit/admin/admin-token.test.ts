import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { adminToken } from "../../../src/admin/admin-token.js";
import { tempDir } from "../../support/temp-dir.js";

t.test("the REST API token signs in when there is one", async (t) => {
  const dir = tempDir(t);
  const token = adminToken("api-token", dir);
  t.equal(token.file, undefined);
  t.ok(token.check.allows("token api-token"));
  t.notOk(token.check.allows("token other"));
});

t.test("without one, a random token in <data-dir>/admin-token (0600), kept across starts", async (t) => {
  const dir = tempDir(t);
  const first = adminToken(undefined, dir);
  t.equal(first.file, join(dir, "admin-token"));
  const written = readFileSync(join(dir, "admin-token"), "utf8").trim();
  t.match(written, /^[0-9a-f]{64}$/);
  t.equal(statSync(join(dir, "admin-token")).mode & 0o777, 0o600, "only the proxy's user reads it");
  t.ok(first.check.allows(`token ${written}`));
  t.notOk(first.check.open, "the admin page is never open");
  t.ok(adminToken(undefined, dir).check.allows(`token ${written}`), "the next start keeps it");
  writeFileSync(join(dir, "admin-token"), "short\n");
  t.notOk(adminToken(undefined, dir).check.allows("token short"), "a token too short to guard is replaced");
});
