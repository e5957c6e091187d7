/**
 * mod_lticontainer's image name filter (its `imgname_fltr` setting, default `jupyterhub`): tokens separated by
 * commas or white space; a token starting with `-` excludes the images whose name contains the rest, any other
 * token must be contained in the name. Include tokens are checked in order and a `*` ends the check, as
 * mod_lticontainer's loop returns at it: `* postgres` lets every name in, `postgres *` only names containing
 * `postgres`. No include token lets every name in; `-*` (or a lone `-`) shuts every name out. The same filter
 * decides which images the admin page lists and which image a launch may ask for.
 *
 * Tokens are plain, case-sensitive substrings. mod_lticontainer used each token as a regular expression, so
 * `.` or `+` matched other characters and a `/` broke the pattern; image names only hold `[a-z0-9._/:@-]`, so
 * substrings select the same images an operator meant.
 */
export interface ImageFilter {
  /** Each must be contained in the name; empty = every name. */
  include: string[];
  /** None may be contained in the name. */
  exclude: string[];
  /** `-*` or `-` was given: no name passes. */
  excludeAll: boolean;
}

export function parseImageFilter(text: string): ImageFilter {
  const filter: ImageFilter = { include: [], exclude: [], excludeAll: false };
  let includeEnded = false;
  for (const token of text.split(/[\s,]+/).filter((t) => t !== "")) {
    if (token.startsWith("-")) {
      const excluded = token.slice(1);
      if (excluded === "" || excluded === "*") filter.excludeAll = true;
      else filter.exclude.push(excluded);
    } else if (token === "*") {
      includeEnded = true;
    } else if (!includeEnded) {
      filter.include.push(token);
    }
  }
  return filter;
}

export function imageMatchesFilter(name: string, filter: ImageFilter): boolean {
  if (filter.excludeAll) return false;
  return (
    filter.include.every((token) => name.includes(token)) &&
    !filter.exclude.some((token) => name.includes(token))
  );
}
