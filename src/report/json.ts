/**
 * JSON files: the aggregates as numbers (sizes in bytes) plus the per-mailbox rows. Mailbox rows are
 * written one per line so a 100,000-mailbox file stays readable with line tools and is built without
 * an indented copy of the whole document.
 */
import { FORMULAS } from "./aggregate.js";
import { UNIT_NOTE } from "./bytes.js";
import { joinedInChunks } from "./chunks.js";
import { type CombinedSummary, REPORT_SCHEMA, REPORT_SOURCE, type TenantReport } from "./model.js";

const header = (generatedAt: string) => ({
  schema: REPORT_SCHEMA,
  generatedAt,
  source: REPORT_SOURCE,
  units: { bytes: "all sizes are integers in bytes", human: UNIT_NOTE },
  formulas: FORMULAS,
});

/** The tenant file in chunks, for `writeFileAtomic` to stream. */
export function* tenantJsonChunks(report: TenantReport, generatedAt: string): Generator<string> {
  const { mailboxes, ...rest } = report;
  const head = JSON.stringify({ ...header(generatedAt), ...rest }, null, 2);
  // Splice the mailbox array in by hand: one compact object per line.
  yield `${head.slice(0, -2)},\n  "mailboxes": [`;
  let written = 0;
  const rowLines = function* () {
    for (const m of mailboxes) yield `${written++ === 0 ? "\n" : ",\n"}    ${JSON.stringify(m)}`;
  };
  yield* joinedInChunks(rowLines());
  yield `${written > 0 ? "\n  " : ""}]\n}\n`;
}

export function renderTenantJson(report: TenantReport, generatedAt: string): string {
  return [...tenantJsonChunks(report, generatedAt)].join("");
}

export function renderCombinedJson(
  summary: CombinedSummary,
  reports: TenantReport[],
  generatedAt: string,
): string {
  const tenants = reports.map(({ mailboxes: _rows, ...rest }) => rest);
  return `${JSON.stringify({ ...header(generatedAt), combined: summary, tenants }, null, 2)}\n`;
}
