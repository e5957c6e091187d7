/** A line of the host's passwd database. */
export interface UserAccount {
  name: string;
  uid: number;
  gid: number;
}

/** A line of the host's group database. */
export interface GroupAccount {
  name: string;
  gid: number;
}

/**
 * The host's accounts as the plan asks about them (`getpwnam`, `getgrnam`, `getgrgid`): a user who has an
 * account on the host keeps its uid and gid in the container.
 */
export interface AccountResolver {
  userByName(name: string): UserAccount | undefined;
  groupByName(name: string): GroupAccount | undefined;
  groupById(gid: number): GroupAccount | undefined;
}

/** Accounts held in memory; the first entry of a name or gid wins, as in the C library's lookups. */
export class MemoryAccounts implements AccountResolver {
  private readonly users = new Map<string, UserAccount>();
  private readonly groupsByName = new Map<string, GroupAccount>();
  private readonly groupsById = new Map<number, GroupAccount>();

  constructor(accounts: { users?: readonly UserAccount[]; groups?: readonly GroupAccount[] } = {}) {
    for (const user of accounts.users ?? []) if (!this.users.has(user.name)) this.users.set(user.name, user);
    for (const group of accounts.groups ?? []) {
      if (!this.groupsByName.has(group.name)) this.groupsByName.set(group.name, group);
      if (!this.groupsById.has(group.gid)) this.groupsById.set(group.gid, group);
    }
  }

  userByName(name: string): UserAccount | undefined {
    return this.users.get(name);
  }

  groupByName(name: string): GroupAccount | undefined {
    return this.groupsByName.get(name);
  }

  groupById(gid: number): GroupAccount | undefined {
    return this.groupsById.get(gid);
  }
}
