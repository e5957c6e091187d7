import t from "tap";
import { parseRequestPath, requestPathname } from "../../../src/routing/request-path.js";
import { seededRandom, randomInt } from "../../support/frame-builder.js";

/** What CHP routes by: the WHATWG parse of the URL, its pathname decoded once. */
function whatwg(rawUrl: string): { outgoing: string; routing: string; pathname: string } | undefined {
  try {
    const url = new URL(rawUrl, "http://example.com");
    return {
      outgoing: url.pathname + url.search,
      routing: decodeURIComponent(url.pathname),
      pathname: url.pathname,
    };
  } catch {
    return undefined;
  }
}

t.test("names with dots stay as they are; dot-segments are resolved", async (t) => {
  const cases: Array<[string, string]> = [
    ["/user/a/api/contents/work/notebook.ipynb", "/user/a/api/contents/work/notebook.ipynb"],
    ["/user/a/static/main.js?v=1.2", "/user/a/static/main.js"],
    ["/user/a/.hidden/x", "/user/a/.hidden/x"],
    ["/user/a/..x/y.", "/user/a/..x/y."],
    ["/user/a/./b", "/user/a/b"],
    ["/user/a/../b", "/user/b"],
    ["/user/a/..", "/user/"],
    ["/user/a/.", "/user/a/"],
    ["/user/a/..?x=1", "/user/"],
    ["/user/a/%2e%2e/b", "/user/b"],
  ];
  for (const [url, routing] of cases) {
    t.equal(parseRequestPath(url, undefined, false)?.routing, routing, url);
    const { outgoing, routing: decoded } = whatwg(url) ?? {};
    t.same(
      parseRequestPath(url, undefined, false),
      { outgoing, routing: decoded },
      `${url}: as the WHATWG parser`,
    );
    t.equal(requestPathname(url), whatwg(url)?.pathname, `${url}: its pathname`);
  }
});

// `outgoing` may keep an empty query (`/?`) that the WHATWG serialisation drops: the route is what must agree.
t.test("random paths of dots, slashes and letters route as the WHATWG parser does", async (t) => {
  const random = seededRandom(17);
  const alphabet = ["/", ".", "a", "b", "?", "%2e", "%2E", "_", "-"];
  let compared = 0;
  for (let i = 0; i < 20_000; i++) {
    let url = "/";
    const length = 1 + randomInt(random, 12);
    for (let k = 0; k < length; k++) url += alphabet[randomInt(random, alphabet.length)];
    const expected = whatwg(url)?.routing;
    const actual = parseRequestPath(url, undefined, false)?.routing;
    const pathname = requestPathname(url);
    if (actual !== expected || pathname !== whatwg(url)?.pathname) {
      t.same(actual, expected, url);
      t.equal(pathname, whatwg(url)?.pathname, `${url}: its pathname`);
      return;
    }
    compared++;
  }
  t.equal(compared, 20_000, "20,000 random paths parsed alike, routes and pathnames");
});

t.test("a URL the WHATWG parser refuses has no pathname", async (t) => {
  t.equal(requestPathname("http://[::1"), undefined);
  t.equal(requestPathname("//exa mple/x"), undefined);
  t.equal(requestPathname("/api/routes/a?b=c"), "/api/routes/a");
  t.equal(requestPathname("//api/routes"), "/routes", "a scheme-relative URL: its first segment is a host");
});
