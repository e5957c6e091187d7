/** A parsed JSON object (not an array, not null): what every reader of JSON input checks before reading fields. */
export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
