import t from "tap";
import { parseUserList, withoutLineBreaks } from "../../../src/spawner/plan/sanitisers.js";

t.test("user lists split at commas and at Python's whitespace", async (t) => {
  t.strictSame(parseUserList("alice,bob"), ["alice", "bob"]);
  t.strictSame(parseUserList(" alice , ,bob, "), ["alice", "bob"], "empty entries dropped");
  t.strictSame(parseUserList("alice\tbob"), ["alice", "bob"], "TAB");
  t.strictSame(parseUserList("alice\u3000bob"), ["alice", "bob"], "IDEOGRAPHIC SPACE");
  t.strictSame(
    parseUserList("alice\u00a0bob\u2003carol"),
    ["alice", "bob", "carol"],
    "NO-BREAK and EM SPACE",
  );
  t.strictSame(parseUserList("alice\u001cbob\u0085carol"), ["alice", "bob", "carol"], "U+001C and NEL split");
  t.strictSame(parseUserList("alice\ufeffbob"), ["alice\ufeffbob"], "U+FEFF is no whitespace to Python");
  t.strictSame(parseUserList("*"), ["*"]);
  t.strictSame(parseUserList(""), []);
});

t.test("user lists lose LTIContainerSpawner's name characters before splitting", async (t) => {
  t.strictSame(parseUserList("alice; rm -rf /, student1"), ["alicerm-rf", "student1"]);
  t.strictSame(parseUserList("alice bob"), ["alicebob"], "spaces are removed, not separators");
  t.strictSame(parseUserList(`a!b"c$d%e&f'g(h)i;j<k>l?m^n{o|p}q~r/s`), ["abcdefghijklmnopqrs"]);
  t.strictSame(parseUserList("a\nb\rc"), ["abc"], "LF and CR removed");
  t.strictSame(parseUserList("s.tanaka,x@y.jp,u_1,a-b,c\\d,e:f,g*h,i=j,k[l]"), [
    "s.tanaka",
    "x@y.jp",
    "u_1",
    "a-b",
    "c\\d",
    "e:f",
    "g*h",
    "i=j",
    "k[l]",
  ]);
  t.strictSame(parseUserList("課題,学生"), ["課題", "学生"], "non-ASCII letters kept");
});

t.test("course and activity names lose line breaks only", async (t) => {
  t.equal(withoutLineBreaks("C\\S 101\r\n(2024)\tx"), "C\\S 101(2024)\tx");
});
