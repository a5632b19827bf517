/**
 * Rows as callers want them: the wire's type annotations (`X@odata.type`, `X@data.type`) dropped, and
 * every ByteQuantifiedSize string (`"1.2 GB (1,288,490,189 bytes)"`) additionally exposed as a number
 * of bytes under `<Name>Bytes`. `raw: true` skips all of this and returns the wire form.
 */
const SIZE = /\(([\d,]+) bytes\)\s*$/;

/** Bytes of a ByteQuantifiedSize string; undefined for "Unlimited" or anything else. */
export function parseByteQuantifiedSize(value: unknown): number | undefined {
  // Cheap test first: this runs for every string value of every row of a million-row stream.
  if (typeof value !== "string" || !value.endsWith(" bytes)")) return undefined;
  const match = value.match(SIZE);
  return match?.[1] ? Number(match[1].replace(/,/g, "")) : undefined;
}

const isAnnotation = (key: string) =>
  key.includes("@") && (key.endsWith("@odata.type") || key.endsWith("@data.type"));

export function normalizeValue(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    // Most arrays are lists of strings (EmailAddresses…): keep them as they are, no copy to collect.
    for (const item of value) if (item !== null && typeof item === "object") return value.map(normalizeValue);
    return value;
  }
  return normalizeRow(value as Record<string, unknown>);
}

export function normalizeRow(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  // for…in over a JSON.parse result: own keys only, and no entries array per row (hot path of stream()).
  for (const key in row) {
    if (isAnnotation(key)) continue;
    const value = row[key];
    if (typeof value === "string") {
      out[key] = value;
      const bytes = parseByteQuantifiedSize(value);
      if (bytes !== undefined && !(`${key}Bytes` in row)) out[`${key}Bytes`] = bytes;
    } else {
      out[key] = normalizeValue(value);
    }
  }
  return out;
}
