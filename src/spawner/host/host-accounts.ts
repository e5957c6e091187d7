import { readFileSync } from "node:fs";
import { MemoryAccounts, type GroupAccount, type UserAccount } from "./account-resolver.js";

export interface AccountFiles {
  passwdFile?: string;
  groupFile?: string;
}

/** A snapshot of the host's `/etc/passwd` and `/etc/group` (other files for tests). */
export function loadHostAccounts(files: AccountFiles = {}): MemoryAccounts {
  return new MemoryAccounts({
    users: parsePasswd(readAccountFile(files.passwdFile ?? "/etc/passwd")),
    groups: parseGroup(readAccountFile(files.groupFile ?? "/etc/group")),
  });
}

function readAccountFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new Error(`cannot read the account file ${path}: ${(error as Error).message}`);
  }
}

/** `name:password:uid:gid:gecos:home:shell` lines; comments, NIS `+`/`-` lines and malformed lines skipped. */
export function parsePasswd(text: string): UserAccount[] {
  return accountLines(text, 7).flatMap(([name, , uid, gid]) => {
    const user = { name: name!, uid: accountId(uid!), gid: accountId(gid!) };
    return Number.isNaN(user.uid) || Number.isNaN(user.gid) ? [] : [user];
  });
}

/** `name:password:gid:members` lines. */
export function parseGroup(text: string): GroupAccount[] {
  return accountLines(text, 4).flatMap(([name, , gid]) => {
    const group = { name: name!, gid: accountId(gid!) };
    return Number.isNaN(group.gid) ? [] : [group];
  });
}

function accountLines(text: string, fieldCount: number): string[][] {
  return text
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("#") && !line.startsWith("+") && !line.startsWith("-"))
    .map((line) => line.split(":"))
    .filter((fields) => fields.length === fieldCount && fields[0] !== "");
}

function accountId(text: string): number {
  return /^[0-9]+$/u.test(text) ? Number(text) : Number.NaN;
}
