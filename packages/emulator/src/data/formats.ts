/**
 * Exchange's ByteQuantifiedSize text form, as InvokeCommand returns TotalItemSize and quotas:
 * `"1.234 GB (1,324,567,890 bytes)"`, `"256 KB (262,144 bytes)"`, `"0 B (0 bytes)"` or `"Unlimited"`
 * (docs/exchange-rest.md §3). The unit part is rounded to at most three decimals (trailing zeros
 * dropped); the bytes part is exact with thousands separators.
 */

const UNITS = ["B", "KB", "MB", "GB", "TB", "PB"] as const;

function groupThousands(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

export function formatByteQuantifiedSize(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new RangeError(`not a byte count: ${bytes}`);
  let unit = 0;
  let value = bytes;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const shown = unit === 0 ? String(bytes) : String(Math.round(value * 1000) / 1000);
  return `${shown} ${UNITS[unit]} (${groupThousands(String(bytes))} bytes)`;
}

/** The exact byte count of a ByteQuantifiedSize string, or undefined for "Unlimited"/unparseable text. */
export function parseByteQuantifiedSize(text: string): number | undefined {
  const match = /\(([\d,]+) bytes\)/.exec(text);
  if (!match) return undefined;
  return Number(match[1]!.replaceAll(",", ""));
}

/**
 * Exchange's JSON DateTime form: ISO 8601 with seven fractional digits and an explicit offset,
 * e.g. `"2022-09-21T08:07:47.0000000+00:00"` (docs/exchange-rest.md §3). Null stays null.
 */
export function formatExchangeDateTime(iso: string | null): string | null {
  if (iso === null) return null;
  // Fast path for what the generator produces (toISOString output): no Date round trip per row.
  if (iso.length === 24 && iso[23] === "Z" && iso[19] === ".") return `${iso.slice(0, 23)}0000+00:00`;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) throw new RangeError(`not a date: ${iso}`);
  return `${date.toISOString().slice(0, 19)}.${String(date.getUTCMilliseconds()).padStart(3, "0")}0000+00:00`;
}
