/** A value as cell text: empty for null/undefined, ISO 8601 for dates, `String(v)` otherwise. */
export const cellText = (v: unknown): string =>
  v === null || v === undefined ? "" : v instanceof Date ? v.toISOString() : String(v);

/** RFC 4180 field: quote when needed, double the quotes; neutralise spreadsheet formulas. */
export function csvField(v: unknown): string {
  let text = cellText(v);
  if (/^[=+\-@\t\r]/.test(text) && !/^-?\d/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
