import t from "tap";
import { imageMatchesFilter, parseImageFilter } from "../../../src/spawner/policy/image-filter.js";

const IMAGES = [
  "ghcr.io/jupyter-fumihax/jupyterhub-ltictr.singleuser:latest",
  "jupyterhub/singleuser:4.1",
  "jupyter/datascience-notebook:latest",
  "jupyter/minimal-notebook:2023-10-20",
  "localhost/postgres:16",
  "0123456789ab",
];

function kept(filter: string): string[] {
  const parsed = parseImageFilter(filter);
  return IMAGES.filter((name) => imageMatchesFilter(name, parsed));
}

t.test("tokens are separated by commas and white space; '-' marks exclusions", async (t) => {
  t.same(parseImageFilter(" jupyter,notebook  -minimal,\t-2023 "), {
    include: ["jupyter", "notebook"],
    exclude: ["minimal", "2023"],
    excludeAll: false,
  });
});

t.test("every include token must be in the name (AND)", async (t) => {
  t.same(kept("jupyterhub"), [IMAGES[0], IMAGES[1]], "mod_lticontainer's default filter");
  t.same(kept("jupyter notebook"), [IMAGES[2], IMAGES[3]]);
  t.same(kept("jupyter,singleuser,4.1"), [IMAGES[1]]);
});

t.test("any exclude token keeps a name out (OR)", async (t) => {
  t.same(kept("jupyter -minimal"), [IMAGES[0], IMAGES[1], IMAGES[2]]);
  t.same(kept("jupyter,-minimal,-hub"), [IMAGES[2]]);
  t.same(kept("-jupyter"), [IMAGES[4], IMAGES[5]], "exclusions alone filter all images");
});

t.test(
  "'*' ends the include check, no include token lets every name in; '-*' or a lone '-' shuts all out",
  async (t) => {
    t.same(kept(""), IMAGES);
    t.same(kept(" , "), IMAGES);
    t.same(kept("*"), IMAGES);
    t.same(kept("* postgres"), IMAGES, "'*' ends the check: tokens after it are not looked at");
    t.same(kept("postgres *"), [IMAGES[4]], "tokens before '*' still must be in the name");
    t.same(
      kept("* -postgres"),
      IMAGES.filter((n) => !n.includes("postgres")),
      "exclusions still apply",
    );
    t.same(kept("jupyter -*"), []);
    t.same(kept("jupyter -"), []);
  },
);

t.test("tokens are plain substrings, not regular expressions", async (t) => {
  t.same(kept("jupyter.datascience"), [], "'.' is a dot, not any character");
  t.same(kept("jupyter/datascience"), [IMAGES[2]], "'/' is allowed (it broke mod_lticontainer's pattern)");
  t.same(kept("notebook:.*"), [], "'.*' is literal");
  t.same(kept("^jupyter"), []);
  t.same(kept("(x|y)"), []);
  t.same(kept("JUPYTER"), [], "case-sensitive, like image names");
});

t.test("mod_lticontainer's cases, one name at a time", async (t) => {
  const cases: Array<[string, string, boolean]> = [
    ["jupyterhub/singleuser:5", "jupyterhub", true],
    ["jupyter/base-notebook:latest", "jupyterhub", false],
    ["jupyterhub/singleuser:5", "jupyterhub, singleuser", true],
    ["jupyterhub/singleuser:5", "jupyterhub nonsense", false],
    ["jupyterhub/singleuser:old", "jupyterhub -old", false],
    ["jupyterhub/singleuser:5", "jupyterhub -old", true],
    ["anything:1", "", true],
    ["anything:1", "*", true],
    ["anything:1", "* nonsense", true],
    ["anything:1", "nonsense *", false],
    ["anything:1", "-*", false],
    ["anything:1", "-", false],
    ["jupyterhub/x:1", "jupyter.*", false],
    ["jupyter.hub:1", "jupyter.", true],
    ["ghcr.io/a/b:1", "ghcr.io/a/", true],
    ["a(b:1", "(", true],
  ];
  for (const [image, filter, allowed] of cases) {
    t.equal(
      imageMatchesFilter(image, parseImageFilter(filter)),
      allowed,
      `${JSON.stringify(filter)} on ${image}`,
    );
  }
});
