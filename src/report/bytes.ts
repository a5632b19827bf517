/**
 * Byte quantities: parsing what Exchange sends and formatting for humans.
 *
 * Exchange (InvokeCommand JSON) sends ByteQuantifiedSize strings such as "3.322 KB (3,402 bytes)" or
 * "Unlimited"; the OData surface and our client's normalisation give plain numbers. The bytes in
 * parentheses are exact; the leading figure is rounded, so we never use it.
 */

/** Bytes from a number, a numeric string, or a ByteQuantifiedSize string; null when absent or "Unlimited". */
export function parseByteQuantity(value: unknown): number | null {
  if (typeof value === "number") return Number.isFinite(value) && value >= 0 ? value : null;
  if (typeof value === "bigint") return Number(value);
  if (typeof value !== "string") return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const m = /\(([\d,.\s]+)\s*bytes?\)/i.exec(text);
  if (m?.[1]) {
    const digits = m[1].replace(/[,.\s]/g, "");
    return digits === "" ? null : Number(digits);
  }
  return null;
}

/** A non-negative integer count from a number or numeric string; null when absent. */
export function parseCount(value: unknown): number | null {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "string" && /^\s*\d+\s*$/.test(value)) return Number(value);
  return null;
}

const BINARY_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"] as const;

/** "1.50 GiB" — binary units (1 KiB = 1024 B); the report states this wherever it shows them. */
export function formatBinaryBytes(bytes: number, digits = 2): string {
  if (!Number.isFinite(bytes)) return "n/a";
  const negative = bytes < 0;
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1024 && unit < BINARY_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const text = unit === 0 ? String(value) : value.toFixed(digits);
  return `${negative ? "-" : ""}${text} ${BINARY_UNITS[unit]}`;
}

/** The sentence human formats print next to sizes so nobody has to guess the unit base. */
export const UNIT_NOTE =
  "Sizes in binary units: 1 KiB = 1024 bytes, 1 MiB = 1024² bytes, 1 GiB = 1024³ bytes.";

/** 1234567 → "1,234,567" (fixed locale so output does not depend on the machine). */
export function formatInteger(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}
