import t from "tap";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { MemoryAccounts } from "../../../src/spawner/host/account-resolver.js";
import { loadHostAccounts, parseGroup, parsePasswd } from "../../../src/spawner/host/host-accounts.js";
import { tempDir } from "../../support/temp-dir.js";

const PASSWD = [
  "root:x:0:0:root:/root:/bin/bash",
  "# a comment",
  "",
  "alice:x:2001:2100:Alice,,,:/home/alice:/bin/bash",
  "+nisuser::::::",
  "broken:x:notanumber:1:::",
  "short:x:1",
  "alice:x:9999:9999:second alice:/x:/bin/sh",
  "bob:x:2002:2100::/home/bob:/usr/sbin/nologin",
].join("\n");

const GROUP = ["root:x:0:", "staff:x:2100:alice,bob", "-nisgroup:::", "others:x:30500:", "dup:x:2100:"].join(
  "\n",
);

t.test("passwd and group lines", async (t) => {
  t.strictSame(parsePasswd(PASSWD), [
    { name: "root", uid: 0, gid: 0 },
    { name: "alice", uid: 2001, gid: 2100 },
    { name: "alice", uid: 9999, gid: 9999 },
    { name: "bob", uid: 2002, gid: 2100 },
  ]);
  t.strictSame(parseGroup(GROUP), [
    { name: "root", gid: 0 },
    { name: "staff", gid: 2100 },
    { name: "others", gid: 30500 },
    { name: "dup", gid: 2100 },
  ]);
});

t.test("lookups: the first entry wins", async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, "passwd"), PASSWD);
  writeFileSync(join(dir, "group"), GROUP);
  const accounts = loadHostAccounts({ passwdFile: join(dir, "passwd"), groupFile: join(dir, "group") });
  t.strictSame(accounts.userByName("alice"), { name: "alice", uid: 2001, gid: 2100 });
  t.equal(accounts.userByName("carol"), undefined);
  t.strictSame(accounts.groupByName("others"), { name: "others", gid: 30500 });
  t.strictSame(accounts.groupById(2100), { name: "staff", gid: 2100 });
  t.equal(accounts.groupById(4242), undefined);
  t.throws(() => loadHostAccounts({ passwdFile: join(dir, "nope"), groupFile: join(dir, "group") }), {
    message: /cannot read the account file .*nope/,
  });
});

t.test("the host's own files", async (t) => {
  t.strictSame(loadHostAccounts().userByName("root"), { name: "root", uid: 0, gid: 0 });
});

t.test("in-memory accounts", async (t) => {
  const accounts = new MemoryAccounts({ groups: [{ name: "a", gid: 1 }] });
  t.equal(accounts.userByName("a"), undefined);
  t.strictSame(accounts.groupByName("a"), { name: "a", gid: 1 });
  t.equal(new MemoryAccounts().groupById(0), undefined);
});
