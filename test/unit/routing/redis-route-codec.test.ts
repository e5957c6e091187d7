import t from "tap";
import type { RouteData } from "../../../src/routing/route-store.js";
import { changeBody, parseChangeMessage } from "../../../src/routing/redis/change-message.js";
import {
  decodeRouteFields,
  encodeRoute,
  parseActivity,
  routeData,
  routeDataProblem,
} from "../../../src/routing/redis/route-codec.js";

t.test("encodeRoute: last_activity apart, one JSON field per top-level key", async (t) => {
  const at = new Date("2026-01-02T03:04:05.678Z");
  const encoded = encodeRoute({
    target: "http://10.0.0.5:8888",
    user: "ann",
    extra: { a: [] },
    last_activity: at,
  });
  t.same(encoded.data, { target: "http://10.0.0.5:8888", user: "ann", extra: { a: [] } });
  t.same(encoded.fields, ["target", '"http://10.0.0.5:8888"', "user", '"ann"', "extra", '{"a":[]}']);
  t.equal(encoded.activity, at.getTime());
  // Plugin stores and JSON trips hand `last_activity` over as a string.
  const asString = { target: "http://h", last_activity: "2026-01-02T03:04:05.678Z" } as unknown as RouteData;
  t.equal(encodeRoute(asString).activity, at.getTime());
  t.equal(encodeRoute({ target: "http://h" }).activity, undefined);
  t.same(
    encodeRoute({ target: "http://h", gone: undefined }).fields,
    ["target", '"http://h"'],
    "undefined dropped",
  );
});

t.test("decodeRouteFields: the inverse; bad values are reasons, not exceptions", async (t) => {
  t.same(decodeRouteFields(["target", '"http://h:1"', "n", "3"]), { target: "http://h:1", n: 3 });
  t.equal(decodeRouteFields(["target", "http://h:1"]), "field 'target' is not JSON");
  t.equal(decodeRouteFields(["user", '"ann"']), "no target string");
  t.equal(decodeRouteFields(["target", "5"]), "no target string");
  t.equal(decodeRouteFields(["target", '"nope"']), "target 'nope' is not a URL");
  const odd = decodeRouteFields(["target", '"http://h"', "__proto__", '{"polluted":true}']);
  t.type(odd, "object");
  t.equal(({} as Record<string, unknown>).polluted, undefined, "a __proto__ field stays a field");
});

t.test("routeDataProblem: partial data may leave the target out", async (t) => {
  t.equal(routeDataProblem({ user: "x" }, true), undefined);
  t.equal(routeDataProblem({ user: "x" }), "no target string");
  t.equal(routeDataProblem([]), "not a JSON object");
  t.equal(routeDataProblem(null), "not a JSON object");
});

t.test("parseActivity: whole ms only", async (t) => {
  t.equal(parseActivity("1767323045678"), 1767323045678);
  t.equal(parseActivity("abc"), undefined);
  t.equal(parseActivity("1.5"), undefined);
  t.equal(parseActivity(""), undefined);
});

t.test("routeData: a fresh object each time, last_activity as a Date", async (t) => {
  const source = { target: "http://h" };
  const data = routeData(source, 5);
  t.not(data, source);
  t.same(data, { target: "http://h", last_activity: new Date(5) });
  t.same(routeData(source, undefined), { target: "http://h" });
});

t.test("change messages: round trip of each operation", async (t) => {
  const route = encodeRoute({ target: "http://h:1", user: "ann", last_activity: new Date(1000) });
  t.same(parseChangeMessage(`7\n${changeBody("e1", "add", "/u/ann", route)}`), {
    epoch: "e1",
    seq: 7,
    op: "add",
    path: "/u/ann",
    data: { target: "http://h:1", user: "ann", last_activity: new Date(1000) },
  });
  t.same(parseChangeMessage(`8\n${changeBody("e1", "update", "/u/ann", encodeRoute({ user: "bob" }))}`), {
    epoch: "e1",
    seq: 8,
    op: "update",
    path: "/u/ann",
    partial: { user: "bob" },
  });
  t.same(parseChangeMessage(`9\n${changeBody("e1", "remove", "/u/ann")}`), {
    epoch: "e1",
    seq: 9,
    op: "remove",
    path: "/u/ann",
  });
  t.same(parseChangeMessage(`0\n${changeBody("e2", "reset")}`), { epoch: "e2", seq: 0, op: "reset" });
});

t.test("change messages: foreign or broken ones are reasons", async (t) => {
  t.equal(parseChangeMessage("hello"), "no change number");
  t.equal(parseChangeMessage("x\n{}"), "no change number");
  t.equal(parseChangeMessage("-1\n{}"), "no change number");
  t.equal(parseChangeMessage("3\n{"), "body is not JSON");
  t.equal(parseChangeMessage("3\n[]"), "no table epoch");
  t.equal(parseChangeMessage('3\n{"epoch":"e","op":"add"}'), "no route path");
  t.equal(
    parseChangeMessage('3\n{"epoch":"e","op":"add","path":"/a","data":{}}'),
    "route /a: no target string",
  );
  t.equal(parseChangeMessage('3\n{"epoch":"e","op":"drop","path":"/a"}'), "unknown operation 'drop'");
});
