/**
 * The original VB365 EXO usage script's seven columns (docs/report.md "The original script's
 * columns"), computed the way it computes them: mebibytes rounded half-to-even like PowerShell's
 * [math]::Round, sizes rounded to MB before dividing, S = the object-storage figure when above 0, else
 * the local one. Where the script would divide by zero we print nothing (null) instead of failing.
 */

export const VB365_COLUMNS = [
  "M365 Mailboxes",
  "Backed up Mailboxes on Repo",
  "M365 Mailbox Size (MB)",
  "Stored on Local Repo (MB)",
  "Stored on Object Repo (MB)",
  "Data Reduction in %",
  "Used Capacity per User (MB)",
] as const;

export type Vb365ColumnsRow = Record<(typeof VB365_COLUMNS)[number], number | null>;

const MIB = 1_048_576;

/** .NET Math.Round(double): the nearest integer, midpoints to the even neighbour. */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** `TotalItemSize.ToMB()`: whole mebibytes, truncated. */
export const toMB = (bytes: number): number => Math.floor(bytes / MIB);

export interface Vb365ColumnsInput {
  /** every recipient Get-EXORecipient lists (the script's "M365 Mailboxes") */
  recipients: number;
  /** backed-up primary mailboxes on the repository (MailboxData items with isArchive false) */
  backedUpMailboxes: number;
  /** Σ over the protected mailboxes of ToMB(TotalItemSize) + ToMB(TotalDeletedItemSize) */
  mailboxSizeMB: number;
  usedSpaceBytes: number;
  objectStorageUsedSpaceBytes: number;
}

export function vb365Columns(input: Vb365ColumnsInput): Vb365ColumnsRow {
  const local = roundHalfEven(input.usedSpaceBytes / MIB);
  const object = roundHalfEven(input.objectStorageUsedSpaceBytes / MIB);
  const stored = object > 0 ? object : local;
  const size = input.mailboxSizeMB;
  return {
    "M365 Mailboxes": input.recipients,
    "Backed up Mailboxes on Repo": input.backedUpMailboxes,
    "M365 Mailbox Size (MB)": size,
    "Stored on Local Repo (MB)": local,
    "Stored on Object Repo (MB)": object,
    "Data Reduction in %": size === 0 ? null : roundHalfEven(((size - stored) / size) * 100),
    "Used Capacity per User (MB)":
      input.backedUpMailboxes === 0 ? null : roundHalfEven(stored / input.backedUpMailboxes),
  };
}

/** The columns as the script's Format-Table shows them: a header line, dashes, then the rows. */
export function renderVb365Columns(rows: Vb365ColumnsRow[]): string {
  const cells = rows.map((r) => VB365_COLUMNS.map((c) => (r[c] === null ? "" : String(r[c]))));
  const widths = VB365_COLUMNS.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const center = (text: string, w: number) => {
    const left = Math.floor((w - text.length) / 2);
    return `${" ".repeat(left)}${text}${" ".repeat(w - text.length - left)}`;
  };
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => center(v, widths[i]!))
      .join(" ")
      .trimEnd();
  return [line(VB365_COLUMNS), line(widths.map((w) => "-".repeat(w))), ...cells.map((c) => line(c)), ""].join(
    "\n",
  );
}
