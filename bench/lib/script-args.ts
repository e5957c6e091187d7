/** The exit of a side script (`bench/*.ts` outside `npm run bench`) on a bad option: one line naming it, status 1. */
export function failFor(script: string): (message: string) => never {
  return (message: string): never => {
    console.error(`${script}: ${message}`);
    process.exit(1);
  };
}

/** Each option's text as a whole number above zero; anything else ends the script through `fail`. */
export function positiveWholeNumbers<K extends string>(
  raw: Record<K, string>,
  fail: (message: string) => never,
): Record<K, number> {
  const numbers = {} as Record<K, number>;
  for (const name of Object.keys(raw) as K[]) {
    const value = Number(raw[name]);
    if (!Number.isInteger(value) || value <= 0) fail(`--${name} must be a positive whole number`);
    numbers[name] = value;
  }
  return numbers;
}
