/**
 * The character rules LTIContainerSpawner applies to launch values, kept where a Moodle-produced value depends on
 * them. Everything else is validated (and refused) by the field readers instead of being mangled.
 */

/**
 * Python's `str.split()` without arguments splits on every character `str.isspace()` accepts: the ASCII
 * separators, the information separators U+001C–U+001F, NEL, NO-BREAK SPACE and the Unicode space separators
 * (U+3000 IDEOGRAPHIC SPACE, typed by Japanese keyboards, among them). JavaScript's `\s` differs (it includes
 * U+FEFF and lacks U+001C–U+001F and U+0085), hence the explicit class.
 */
// eslint-disable-next-line no-control-regex -- U+001C–U+001F are whitespace to Python
const PYTHON_WHITESPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/u;

/**
 * What LTIContainerSpawner removes from names and name lists: space, `! " $ % & ' ( ) ; < > ? ^ { | } ~ /`,
 * LF and CR. Backslash and TAB are not in the set.
 */
const NAME_UNSAFE = /[ !"$%&'();<>?^{|}~/\n\r]/gu;

/**
 * A user list (`lms_users`, `lms_teachers`, the `:alice,bob` part of a volume): the characters above removed,
 * then split at commas and whitespace, empty entries dropped. The removal runs first, so `alice bob` is one
 * entry `alicebob` and `alice, bob` two — as LTIContainerSpawner reads the lists Moodle sends. The entries are
 * only ever compared with the user name, never used in a command, a path or a name.
 */
export function parseUserList(value: string): string[] {
  return value
    .replace(NAME_UNSAFE, "")
    .replaceAll(",", " ")
    .split(PYTHON_WHITESPACE)
    .filter((entry) => entry !== "");
}

/** Course and activity names lose their line breaks (they become one environment variable each). */
export function withoutLineBreaks(value: string): string {
  return value.replace(/[\n\r]/gu, "");
}

/** Control characters other than TAB, LF and CR: they have no place in an environment variable. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
export const CONTROL_CHARACTERS = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/u;
