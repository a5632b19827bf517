/**
 * Rows as callers want them: the wire's type annotations (`X@odata.type`, `X@data.type`) dropped, and
 * every ByteQuantifiedSize string (`"1.2 GB (1,288,490,189 bytes)"`) additionally exposed as a number
 * of bytes under `<Name>Bytes`. `raw: true` skips all of this and returns the wire form.
 */
const SIZE = /\(([\d,]+) bytes\)\s*$/;

/** Bytes of a ByteQuantifiedSize string; undefined for "Unlimited" or anything else. */
export function parseByteQuantifiedSize(value: unknown): number | undefined {
  if (typeof value !== "string") return undefined;
  const match = value.match(SIZE);
  return match?.[1] ? Number(match[1].replace(/,/g, "")) : undefined;
}

const isAnnotation = (key: string) => key.endsWith("@odata.type") || key.endsWith("@data.type");

export function normalizeValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalizeValue);
  if (value !== null && typeof value === "object") return normalizeRow(value as Record<string, unknown>);
  return value;
}

export function normalizeRow(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    if (isAnnotation(key) || key === "@odata.type") continue;
    out[key] = normalizeValue(value);
    const bytes = parseByteQuantifiedSize(value);
    if (bytes !== undefined && !(`${key}Bytes` in row)) out[`${key}Bytes`] = bytes;
  }
  return out;
}
