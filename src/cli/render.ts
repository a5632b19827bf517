import type { Writable } from "node:stream";
import { UsageError } from "../errors.js";
import { cellText, csvField } from "../util/csv.js";

export const OUTPUT_FORMATS = ["json", "ndjson", "csv", "table"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function parseOutputFormat(value: string | undefined, fallback: OutputFormat = "table"): OutputFormat {
  if (value === undefined) return fallback;
  const v = value.toLowerCase();
  if ((OUTPUT_FORMATS as readonly string[]).includes(v)) return v as OutputFormat;
  throw new UsageError(`Unknown output format '${value}'.`, {
    hint: `Use one of: ${OUTPUT_FORMATS.join(", ")}.`,
  });
}

type Row = Record<string, unknown>;

/** Flatten nested objects to dotted keys and arrays to `;`-joined text (for csv and table). */
export function flattenRow(row: Row, prefix = "", out: Row = {}): Row {
  for (const [key, value] of Object.entries(row)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (value !== null && typeof value === "object" && !Array.isArray(value) && !(value instanceof Date)) {
      flattenRow(value as Row, name, out);
    } else if (Array.isArray(value)) {
      out[name] = value
        .map((v) => (v !== null && typeof v === "object" ? JSON.stringify(v) : String(v)))
        .join(";");
    } else {
      out[name] = value;
    }
  }
  return out;
}

/**
 * Text from a server made safe for a terminal: C0/C1 control characters (ESC sequences that move the
 * cursor or rewrite the title, carriage returns that overwrite a line, NUL, DEL) shown escaped, e.g. `\x1b`.
 * Line feeds and tabs are kept unless `singleLine` (table cells), where they are escaped too.
 */
export function terminalSafe(text: string, options: { singleLine?: boolean } = {}): string {
  const pattern = options.singleLine
    ? /[\u0000-\u001f\u007f-\u009f]/g
    : /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
  return text.replace(pattern, (c) => {
    if (c === "\n") return "\\n";
    if (c === "\t") return "\\t";
    if (c === "\r") return "\\r";
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
  });
}

/** A table or key/value cell: one line, no control characters. */
const displayText = (v: unknown) => terminalSafe(cellText(v), { singleLine: true });

/** Render rows in a machine or human format; streams (ndjson) write as rows arrive. */
export async function renderRows(
  rows: AsyncIterable<Row> | Iterable<Row>,
  format: OutputFormat,
  out: Writable,
): Promise<number> {
  let count = 0;
  if (format === "ndjson") {
    for await (const row of rows) {
      count++;
      if (!out.write(`${JSON.stringify(row)}\n`)) await new Promise((r) => out.once("drain", r));
    }
    return count;
  }
  const all: Row[] = [];
  for await (const row of rows) all.push(row);
  count = all.length;
  if (format === "json") {
    out.write(`${JSON.stringify(all, null, 2)}\n`);
    return count;
  }
  const flat = all.map((r) => flattenRow(r));
  const columns: string[] = [];
  const seen = new Set<string>();
  for (const r of flat) {
    for (const k of Object.keys(r)) {
      if (!seen.has(k)) {
        seen.add(k);
        columns.push(k);
      }
    }
  }
  if (format === "csv") {
    out.write(`${columns.map(csvField).join(",")}\r\n`);
    for (const r of flat) out.write(`${columns.map((c) => csvField(r[c])).join(",")}\r\n`);
    return count;
  }
  out.write(formatTable(columns, flat));
  return count;
}

/** Render one object: json as is, table as key/value lines. */
export function renderObject(value: unknown, format: OutputFormat, out: Writable): void {
  if (format === "json" || format === "ndjson") {
    out.write(`${JSON.stringify(value, null, format === "json" ? 2 : 0)}\n`);
    return;
  }
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const flat = flattenRow(value as Row);
    if (format === "csv") {
      const cols = Object.keys(flat);
      out.write(`${cols.map(csvField).join(",")}\r\n${cols.map((c) => csvField(flat[c])).join(",")}\r\n`);
      return;
    }
    const width = Math.max(0, ...Object.keys(flat).map((k) => k.length));
    for (const [k, v] of Object.entries(flat))
      out.write(`${displayText(k).padEnd(width)}  ${displayText(v)}\n`);
    return;
  }
  out.write(`${terminalSafe(cellText(value))}\n`);
}

export function formatTable(columns: string[], rows: Row[]): string {
  if (rows.length === 0) return "(no rows)\n";
  const maxCell = 60;
  const clip = (s: string) => (s.length > maxCell ? `${s.slice(0, maxCell - 1)}…` : s);
  const heads = columns.map((c) => displayText(c));
  const widths = columns.map((c, i) =>
    Math.max(heads[i]!.length, ...rows.map((r) => clip(displayText(r[c])).length)),
  );
  const line = (cells: string[]) => `${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ")}`.trimEnd();
  const parts = [line(heads), line(widths.map((w) => "-".repeat(w)))];
  for (const r of rows) parts.push(line(columns.map((c) => clip(displayText(r[c])))));
  return `${parts.join("\n")}\n`;
}
