import t from "tap";
import { TableJson, type TableEntryOwner } from "../../../src/routing/table-json.js";

/** An entry owner as the store's routes are: its text appended on creation (or when the table asks), made again when dropped. */
class Entry implements TableEntryOwner {
  at = -1;
  length = 0;
  constructor(
    private readonly table: TableJson,
    readonly text: string,
    { later = false } = {},
  ) {
    if (later) table.makeLater(this);
    else this.make();
  }
  refreshDate(): void {}
  makeIfMissing(): void {
    if (this.at === -1) this.make();
  }
  relocate(from: Buffer): void {
    if (this.at === -1) this.make();
    else this.at = this.table.appendCopy(from, this.at, this.at + this.length);
  }
  drop(): void {
    if (this.at === -1) return;
    this.at = -1;
    this.table.drop();
  }
  private make(): void {
    this.at = this.table.append(this.text);
    this.length = this.table.end - this.at;
  }
}

t.test("a table never asked for its JSON keeps its memory bounded through replacements", async (t) => {
  const routes = new Map<string, Entry>();
  const table = new TableJson(routes);
  const put = (key: string, value: number) => {
    const entry = new Entry(table, `,"${key}":${value}`);
    routes.get(key)?.drop();
    routes.set(key, entry);
    table.compactIfSparse();
  };
  for (let round = 0; round < 200; round++) for (let i = 0; i < 500; i++) put(`/user/u${i}`, round);
  const live = [...routes.values()].reduce((sum, entry) => sum + entry.length, 0);
  // 100,000 entries were written; without compaction the memory would hold them all (≈ 2 MB).
  t.ok(table.bytes.length < 8 * live, `memory ${table.bytes.length} bytes for ${live} bytes of live entries`);
  const json = JSON.parse(table.json().toString()) as Record<string, number>;
  t.equal(Object.keys(json).length, 500);
  t.equal(json["/user/u0"], 199, "each route's newest entry");
  t.equal(json["/user/u499"], 199);
});

t.test("an answer handed out is a copy: later entries do not change it", async (t) => {
  const routes = new Map<string, Entry>();
  const table = new TableJson(routes);
  routes.set("/a", new Entry(table, ',"/a":1'));
  const first = table.json();
  t.equal(first.toString(), '{"/a":1}');
  t.equal(table.json(), first, "nothing changed: the same bytes");
  routes.set("/b", new Entry(table, ',"/b":2'));
  t.equal(table.json().toString(), '{"/a":1,"/b":2}');
  t.equal(first.toString(), '{"/a":1}');
  routes.get("/a")?.drop();
  routes.delete("/a");
  const laidOut = table.json();
  t.equal(laidOut.toString(), '{"/b":2}', "a hole closed");
  t.equal(table.json(), laidOut, "nothing changed since: the same bytes, not another copy");
  routes.get("/b")?.drop();
  routes.delete("/b");
  t.equal(table.json().toString(), "{}", "empty table");
});

t.test(
  "entries made later: after the turn, in the order they came, or before an answer that comes first",
  async (t) => {
    const routes = new Map<string, Entry>();
    const table = new TableJson(routes);
    const add = (key: string, value: number) => {
      routes.set(key, new Entry(table, `,"${key}":${value}`, { later: true }));
    };
    add("/a", 1);
    add("/b", 2);
    t.equal(table.end, 0, "nothing made during the turn that added them");
    await new Promise((resolve) => setImmediate(resolve));
    t.equal(table.end, ',"/a":1,"/b":2'.length, "both made once the turn is over");
    t.equal(table.json().toString(), '{"/a":1,"/b":2}');
    add("/c", 3);
    t.equal(
      table.json().toString(),
      '{"/a":1,"/b":2,"/c":3}',
      "an answer before the turn is over makes them first",
    );
    await new Promise((resolve) => setImmediate(resolve));
    t.equal(table.json().toString(), '{"/a":1,"/b":2,"/c":3}', "and the turn's end does not make them twice");
  },
);
