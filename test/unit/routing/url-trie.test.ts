import t from "tap";
import { NO_VALUE, pathSegments, segmentCount, UrlTrie } from "../../../src/routing/url-trie.js";

// CHP's trie_spec.js on UrlTrie, plus its own branch tables (prototype-like segment names).
// The trie holds numbers; these tests number each route's name (most often its own path, so that a match names the
// prefix that matched) and read the name back. Each addition gets a target of its own, the number of the path it
// was made at: every match checks that the target and depth it reports are those of the path its value came from.

class NamedTrie {
  private readonly trie = new UrlTrie();
  private readonly names: string[] = [];
  private readonly added: string[] = [];

  get nodeCount(): number {
    return this.trie.nodeCount;
  }

  add(path: string, name: string): void {
    let value = this.names.indexOf(name);
    if (value === -1) value = this.names.push(name) - 1;
    this.trie.add(path, value, this.added.push(path) - 1);
  }

  remove(path: string): void {
    this.trie.remove(path);
  }

  match(path: string): string | undefined {
    const value = this.trie.match(path);
    if (value === NO_VALUE) return undefined;
    const from = pathSegments(this.added[this.trie.matchedTarget]);
    const walked = pathSegments(path).slice(0, this.trie.matchedDepth);
    if (from.length !== this.trie.matchedDepth || from.join("/") !== walked.join("/"))
      throw new Error(`${path}: target and depth name ${from.join("/")}, the walk ${walked.join("/")}`);
    return this.names[value];
  }
}

t.test("pathSegments strips leading/trailing slashes and splits", async (t) => {
  t.same(pathSegments("/"), []);
  t.same(pathSegments(""), []);
  t.same(pathSegments("///"), []);
  t.same(pathSegments("/a/b/"), ["a", "b"]);
  t.same(pathSegments("a//b"), ["a", "", "b"], "an inner // is an empty segment");
});

t.test(
  "match answers NO_VALUE where no route matches, and values and targets are kept as given",
  async (t) => {
    const trie = new UrlTrie();
    t.equal(trie.match("/x"), NO_VALUE);
    trie.add("/x", 0, 2 ** 31 - 1);
    trie.add("/y", 2 ** 31 - 1, 0);
    t.equal(trie.match("/x/1"), 0, "0 is a value");
    t.equal(trie.matchedTarget, 2 ** 31 - 1, "the largest Int32 is a target");
    t.equal(trie.match("/y"), 2 ** 31 - 1, "and a value");
    t.equal(trie.matchedTarget, 0);
    t.equal(trie.match("/z"), NO_VALUE);
  },
);

t.test("a match's target and depth are those of the node its value came from", async (t) => {
  const trie = new UrlTrie();
  trie.add("/", 1, 10);
  trie.add("/a", 2, 20);
  trie.add("/a/b/c", 3, 30);
  t.same(
    [trie.match("/a/b/x"), trie.matchedTarget, trie.matchedDepth],
    [2, 20, 1],
    "/a, though /a/b was walked",
  );
  t.same([trie.match("/a/b/c/"), trie.matchedTarget, trie.matchedDepth], [3, 30, 3]);
  t.same([trie.match("/q"), trie.matchedTarget, trie.matchedDepth], [1, 10, 0], "the root's");
  trie.add("/a", 2, 21);
  t.same([trie.match("/a"), trie.matchedTarget], [2, 21], "adding again moves the target");
  trie.remove("/a");
  t.same(
    [trie.match("/a/b"), trie.matchedTarget, trie.matchedDepth],
    [1, 10, 0],
    "the value's removal, its target's",
  );
});

t.test("59: a new trie is empty", async (t) => {
  const trie = new NamedTrie();
  t.equal(trie.nodeCount, 0);
  t.equal(trie.match("/"), undefined, "no data at the root");
  t.equal(trie.match("/anything"), undefined);
});

t.test("60: data at / matches every path, with prefix /", async (t) => {
  const trie = new NamedTrie();
  trie.add("/", "root");
  for (const path of ["/1/etc/etc/", "/", ""]) t.equal(trie.match(path), "root", path);
  t.equal(trie.nodeCount, 0, "the root is not a node below itself");
});

t.test("61: add creates one node per segment; intermediate nodes hold no data", async (t) => {
  const trie = new NamedTrie();
  trie.add("foo", "/foo");
  t.equal(trie.nodeCount, 1);
  trie.add("bar/leaf", "/bar/leaf");
  t.equal(trie.nodeCount, 3);
  trie.add("/a/b/c/d", "/a/b/c/d");
  t.equal(trie.nodeCount, 7);
  t.equal(trie.match("/foo"), "/foo");
  t.equal(trie.match("/bar/leaf/x"), "/bar/leaf");
  t.equal(trie.match("/a/b/c/d"), "/a/b/c/d");
  for (const path of ["/bar", "/a", "/a/b", "/a/b/c"])
    t.equal(trie.match(path), undefined, `${path} has no data`);
  trie.add("/a/b/c/d", "again");
  t.equal(trie.nodeCount, 7, "re-adding a path creates no nodes");
  t.equal(trie.match("/a/b/c/d"), "again", "and replaces the data");
});

t.test("62: match returns the deepest node with data along the path", async (t) => {
  const trie = new NamedTrie();
  for (const path of ["/1", "/a/b/c/d", "/b", "/b/c", "/b/c/d"]) trie.add(path, path);
  t.equal(trie.match("/not/found"), undefined);
  t.equal(trie.match("/1"), "/1");
  t.equal(trie.match("/1/etc/etc/"), "/1");
  t.equal(trie.match("/a"), undefined);
  t.equal(trie.match("/a/b/c"), undefined);
  t.equal(trie.match("/a/b/c/d/e/f"), "/a/b/c/d");
  t.equal(trie.match("/b/c/d/word"), "/b/c/d");
  t.equal(trie.match("/b/c/dword"), "/b/c", "segment-wise, not string prefix");
  t.equal(trie.match("/B/c"), undefined, "case-sensitive");
});

t.test("63: remove keeps descendants and prunes emptied branches", async (t) => {
  const trie = new NamedTrie();
  for (const path of ["/", "/a/b", "/a/b/c/d", "/b", "/b/c"]) trie.add(path, path);
  const nodes = trie.nodeCount;
  trie.remove("/b");
  t.equal(trie.nodeCount, nodes, "/b stays as a node: /b/c hangs below it");
  t.equal(trie.match("/b/c/x"), "/b/c");
  t.equal(trie.match("/b/x"), "/", "/b itself no longer matches");
  trie.remove("/a/b/c/d");
  t.equal(trie.nodeCount, nodes - 2, "c and d pruned");
  t.equal(trie.match("/a/b/c/d"), "/a/b", "/a/b is kept");
  trie.remove("/b/c");
  t.equal(trie.nodeCount, nodes - 4, "/b/c and the emptied /b pruned");
  trie.remove("/");
  t.equal(trie.match("/x"), undefined, "removing / clears the root's data");
  t.equal(trie.match("/a/b"), "/a/b");
  trie.remove("/not/there");
  trie.remove("/a/b/c/d/e");
  t.equal(trie.match("/a/b"), "/a/b", "removing a missing path changes nothing");
});

t.test("64: sub-paths fall back to the nearest ancestor with data", async (t) => {
  const trie = new NamedTrie();
  trie.add("/", "/");
  trie.add("/prefix/sub/tree", "/prefix/sub/tree");
  t.equal(trie.match("/prefix"), "/");
  t.equal(trie.match("/prefix/sub"), "/");
  t.equal(trie.match("/prefix/sub/tree/x"), "/prefix/sub/tree");
  trie.add("/prefix", "/prefix");
  t.equal(trie.match("/prefix"), "/prefix");
  t.equal(trie.match("/prefix/sub"), "/prefix");
});

t.test("65: removing the first leaf does not remove the root", async (t) => {
  const trie = new NamedTrie();
  trie.add("/", "/");
  trie.add("/prefix/", "/prefix");
  trie.remove("/prefix/");
  t.equal(trie.match("/prefix/x"), "/");
  t.equal(trie.nodeCount, 0);
});

t.test("segments named like Object.prototype members are plain names", async (t) => {
  const trie = new NamedTrie();
  const names = ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"];
  t.equal(trie.match("/constructor"), undefined);
  t.equal(trie.match("/__proto__/x"), undefined);
  trie.add("/", "/");
  for (const name of names) t.equal(trie.match(`/${name}/x`), "/", `${name} without a route`);
  for (const name of names) trie.add(`/user/${name}`, `/user/${name}`);
  for (const name of names) t.equal(trie.match(`/user/${name}/lab`), `/user/${name}`);
  for (const name of names) trie.remove(`/user/${name}`);
  t.equal(trie.nodeCount, 0, "all pruned");
});

t.test("segmentCount agrees with pathSegments, empty segments included", async (t) => {
  for (const path of [
    "",
    "/",
    "//",
    "/a",
    "a",
    "/a/",
    "/a//b",
    "//a/b//",
    "/user/u1/api/status",
    "/a/b/c/",
  ]) {
    t.equal(segmentCount(path), pathSegments(path).length, JSON.stringify(path));
  }
});

t.test("match walks empty and repeated-slash segments as pathSegments splits them", async (t) => {
  const trie = new NamedTrie();
  trie.add("/a//b", "/a//b");
  trie.add("/a", "/a");
  t.equal(trie.match("/a//b/c"), "/a//b");
  t.equal(trie.match("//a//b"), "/a//b");
  t.equal(trie.match("/a/b"), "/a");
  t.equal(trie.match("/a///"), "/a");
  t.equal(trie.match("/ab"), undefined);
});

t.test("a node emptied of its branches takes new ones", async (t) => {
  const trie = new NamedTrie();
  trie.add("/a", "/a");
  trie.add("/a/b", "/a/b");
  trie.remove("/a/b");
  t.equal(trie.match("/a/b/c"), "/a");
  trie.add("/a/c", "/a/c");
  t.equal(trie.match("/a/c/d"), "/a/c");
  t.equal(trie.nodeCount, 2);
});
