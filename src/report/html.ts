/**
 * The HTML report: one self-contained file (inline CSS, inline SVG drawn here, no script, no font or
 * image from anywhere) with a print stylesheet. Only aggregates and the top mailboxes go in; the
 * per-mailbox rows are in the CSV/JSON files, so the page stays small for 100,000 mailboxes.
 */

import type { BackupComparison } from "./aggregate.js";
import { FORMULAS, type Growth, type UsageTotals } from "./aggregate.js";
import type { BackupSection } from "./backup-coverage.js";
import { formatBinaryBytes, formatInteger, UNIT_NOTE } from "./bytes.js";
import { type CombinedSummary, REPORT_SOURCE, type TenantReport } from "./model.js";
import { columnChart, escapeXml as esc, horizontalBarChart, lineChart } from "./svg.js";
import type { MailboxFailure, TenantCounts } from "./types.js";

const CSS = `
:root { --ink: #1b1f24; --muted: #57606a; --line: #d0d7de; --s0: #2f6fb3; --s1: #e0a030; --s2: #3a9a5b; --s3: #b34a6f; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: var(--ink); margin: 2rem auto; max-width: 980px; padding: 0 1rem; line-height: 1.4; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { font-size: 1.25rem; border-bottom: 1px solid var(--line); padding-bottom: .2rem; margin-top: 2rem; } h3 { font-size: 1.05rem; }
.meta, .note { color: var(--muted); font-size: .9rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; font-size: .92rem; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: .6rem; margin: 1rem 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: .6rem .8rem; }
.card .v { font-size: 1.35rem; font-weight: 600; } .card .k { color: var(--muted); font-size: .85rem; }
.status-partial { color: #a40e26; font-weight: 600; }
svg.chart { max-width: 100%; height: auto; display: block; margin: .5rem 0 1rem; }
svg .label { font-size: 12px; fill: var(--ink); } svg .value { font-size: 11px; fill: var(--muted); }
svg .axis { stroke: var(--muted); stroke-width: 1; } svg .line { fill: none; stroke: var(--s0); stroke-width: 2.5; } svg .dot { fill: var(--s0); }
svg .s0 { fill: var(--s0); } svg .s1 { fill: var(--s1); } svg .s2 { fill: var(--s2); } svg .s3 { fill: var(--s3); }
code { font-size: .85rem; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  h2 { break-after: avoid; } section, svg.chart, table { break-inside: avoid; }
  .card { border-color: #999; } a { color: inherit; text-decoration: none; }
  svg .s0, svg .dot { fill: #333; } svg .s1 { fill: #888; } svg .s2 { fill: #bbb; } svg .line { stroke: #333; }
}
`;

const bytes = (n: number | null) => (n === null ? "n/a" : formatBinaryBytes(n));
const num = (n: number | null) => (n === null ? "unknown" : formatInteger(n));
const pct = (n: number | null) => (n === null ? "n/a" : `${n.toFixed(1)} %`);

function page(title: string, generatedAt: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>${esc(title)}</h1>
<p class="meta">Generated ${esc(generatedAt)} by exo-cba. Source: ${esc(REPORT_SOURCE)}.</p>
<p class="note">${esc(UNIT_NOTE)} Machine formats (CSV, JSON) give every size in bytes.</p>
${body}
</body>
</html>
`;
}

function cards(counts: TenantCounts, totals: UsageTotals, status: string): string {
  const card = (k: string, v: string, id?: string) =>
    `<div class="card"${id ? ` id="${id}"` : ""}><div class="v">${esc(v)}</div><div class="k">${esc(k)}</div></div>`;
  return `<div class="cards">
${card("Total protected (primary + deleted items + archive)", bytes(totals.totalProtectedBytes), "total-protected")}
${card("Mailboxes (active)", num(counts.mailboxes), "mailbox-count")}
${card("Recipients (all kinds)", num(counts.recipients), "recipient-count")}
${card("Archives enabled", num(counts.archives))}
${card("Inactive mailboxes", num(counts.inactiveMailboxes))}
${card("Status", status)}
</div>`;
}

function totalsTable(totals: UsageTotals): string {
  const row = (name: string, b: number | null, items: number | null) =>
    `<tr><td>${esc(name)}</td><td class="num">${esc(bytes(b))}</td><td class="num">${b === null ? "" : formatInteger(b)}</td><td class="num">${items === null ? "" : formatInteger(items)}</td></tr>`;
  return `<table id="totals">
<thead><tr><th>Figure</th><th class="num">Size</th><th class="num">Bytes</th><th class="num">Items</th></tr></thead>
<tbody>
${row("Primary mailboxes (TotalItemSize)", totals.primaryBytes, totals.primaryItems)}
${row("Deleted items (TotalDeletedItemSize)", totals.deletedBytes, totals.deletedItems)}
${row("Archives (TotalItemSize)", totals.archiveBytes, totals.archiveItems)}
${row("Archive deleted items", totals.archiveDeletedBytes, totals.archiveDeletedItems)}
${row("Total protected", totals.totalProtectedBytes, null)}
${row("Average per mailbox", totals.averageProtectedBytesPerMailbox, null)}
${row("Average per user mailbox", totals.averageProtectedBytesPerUserMailbox, null)}
</tbody></table>
<p class="note"><code>${esc(FORMULAS.totalProtectedBytes)}</code><br><code>${esc(FORMULAS.average)}</code></p>`;
}

function typeChart(counts: TenantCounts): string {
  const items = Object.entries(counts.mailboxesByType)
    .sort((a, b) => b[1] - a[1])
    .map(([type, n]) => ({ label: type, values: [n], text: formatInteger(n) }));
  items.push({ label: "Archives enabled", values: [counts.archives], text: formatInteger(counts.archives) });
  if (counts.inactiveMailboxes !== null) {
    items.push({
      label: "Inactive (not in totals)",
      values: [counts.inactiveMailboxes],
      text: formatInteger(counts.inactiveMailboxes),
    });
  }
  return horizontalBarChart("Mailboxes by type", items);
}

function topSection(totals: UsageTotals): string {
  if (totals.top.length === 0) return "<p>No mailbox was measured.</p>";
  const chart = horizontalBarChart(
    "Largest mailboxes",
    totals.top.map((t) => ({
      label: t.displayName.length > 30 ? `${t.displayName.slice(0, 29)}…` : t.displayName,
      values: [t.primaryBytes, t.protectedBytes - t.primaryBytes - t.archiveBytes, t.archiveBytes],
      text: formatBinaryBytes(t.protectedBytes),
    })),
    { legend: ["primary", "deleted items", "archive"] },
  );
  const rows = totals.top
    .map(
      (t, i) =>
        `<tr><td class="num">${i + 1}</td><td>${esc(t.identity)}</td><td>${esc(t.recipientTypeDetails)}</td><td class="num">${esc(formatBinaryBytes(t.protectedBytes))}</td><td class="num">${formatInteger(t.protectedBytes)}</td></tr>`,
    )
    .join("\n");
  return `${chart}<table id="top"><thead><tr><th class="num">#</th><th>Mailbox</th><th>Type</th><th class="num">Protected</th><th class="num">Bytes</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function distributionChart(totals: UsageTotals): string {
  return columnChart(
    "Mailboxes by total protected size",
    totals.distribution.map((d) => ({
      label: d.label,
      value: d.mailboxes,
      text: formatInteger(d.mailboxes),
    })),
  );
}

function growthSection(growth: Growth | null): string {
  if (!growth) {
    return "<p>Growth appears once two complete runs of this tenant are stored in the history.</p>";
  }
  const chart = lineChart(
    "Total protected bytes over time",
    growth.points.map((p) => ({ at: p.at, value: p.totalProtectedBytes })),
    (v) => formatBinaryBytes(v, 1),
  );
  return `${chart}<table id="growth"><tbody>
<tr><td>Period</td><td>${esc(growth.from)} → ${esc(growth.to)} (${growth.days.toFixed(1)} days, ${growth.points.length} runs)</td></tr>
<tr><td>Growth</td><td class="num">${esc(bytes(growth.growthBytes))} (${formatInteger(growth.growthBytes)} bytes)</td></tr>
<tr><td>Annualised (linear)</td><td class="num">${esc(bytes(growth.annualisedBytes))} per year</td></tr>
<tr><td>Annualised (compound)</td><td class="num">${esc(pct(growth.annualisedPercent))} per year</td></tr>
</tbody></table><p class="note"><code>${esc(growth.formula)}</code></p>`;
}

function backupSection(backup: BackupComparison | null): string {
  if (!backup) return "";
  return `<h2>Backup comparison</h2><table id="backup"><tbody>
<tr><td>Stored in backup</td><td class="num">${esc(bytes(backup.storedBytes))} (${formatInteger(backup.storedBytes)} bytes)</td></tr>
<tr><td>Data reduction</td><td class="num">${esc(pct(backup.dataReductionPercent))}</td></tr>
<tr><td>Capacity per mailbox</td><td class="num">${esc(bytes(backup.capacityPerUserBytes))}</td></tr>
</tbody></table><p class="note">${backup.formulas.map((f) => `<code>${esc(f)}</code>`).join("<br>")}</p>`;
}

const LIST_CAP = 1000;

function mailboxList(
  id: string,
  rows: Array<{
    identity: string;
    displayName: string;
    recipientTypeDetails: string;
    lastBackup?: string | null;
  }>,
  total: number,
  withBackup: boolean,
): string {
  if (total === 0) return "<p>None.</p>";
  const body = rows
    .slice(0, LIST_CAP)
    .map(
      (m) =>
        `<tr><td>${esc(m.identity)}</td><td>${esc(m.displayName)}</td><td>${esc(m.recipientTypeDetails)}</td>${withBackup ? `<td>${esc(m.lastBackup ?? "never")}</td>` : ""}</tr>`,
    )
    .join("\n");
  const more = total > LIST_CAP ? `<p>… and ${total - LIST_CAP} more (see the JSON/CSV files).</p>` : "";
  return `<table id="${id}"><thead><tr><th>Mailbox</th><th>Name</th><th>Type</th>${withBackup ? "<th>Last backup</th>" : ""}</tr></thead><tbody>${body}</tbody></table>${more}`;
}

/** The "Backup coverage" section: VB365's side joined with the mailboxes (docs/report.md). */
function coverageSection(section: BackupSection | undefined): string {
  if (!section) return "";
  if (section.status === "missing") {
    return `<section id="backup-coverage"><h2>Backup coverage</h2>
<p class="status-partial">The backup side from ${esc(section.server)} is missing: ${esc(section.reason)}</p>
${section.hint ? `<p>${esc(section.hint)}</p>` : ""}<p class="note">The Exchange figures above are complete on their own.</p></section>`;
  }
  const c = section;
  const protectedShare =
    c.mailboxesInExchange === 0 ? null : (c.protectedInExchange / c.mailboxesInExchange) * 100;
  const split = horizontalBarChart("Mailboxes by protection", [
    { label: "Protected", values: [c.protectedInExchange], text: formatInteger(c.protectedInExchange) },
    { label: "Not protected", values: [c.unprotected.count], text: formatInteger(c.unprotected.count) },
    { label: `Stale (> ${c.stale.days} days)`, values: [c.stale.count], text: formatInteger(c.stale.count) },
    {
      label: "Backed up, not in Exchange",
      values: [c.orphaned.count],
      text: formatInteger(c.orphaned.count),
    },
  ]);
  const repoRows = c.repositories
    .map(
      (r) =>
        `<tr><td>${esc(r.name)}</td><td class="num">${formatInteger(r.protectedMailboxes)}</td><td class="num">${formatInteger(r.protectedArchives)}</td><td class="num">${esc(bytes(r.usedSpaceBytes))}</td><td class="num">${esc(bytes(r.objectStorageUsedSpaceBytes))}</td><td class="num">${esc(bytes(r.localCacheUsedSpaceBytes))}</td><td class="num">${formatInteger(r.storedBytes)}</td></tr>`,
    )
    .join("\n");
  const types = Object.entries(c.unprotected.byType)
    .sort((a, b) => b[1] - a[1])
    .map(([t, n]) => `${esc(t)}: ${formatInteger(n)}`)
    .join(", ");
  const licensed = c.licensedUsers
    ? `${formatInteger(c.licensedUsers.total)} (${Object.entries(c.licensedUsers.byState)
        .map(([k, n]) => `${esc(k)} ${formatInteger(n)}`)
        .join(", ")})`
    : "unknown";
  const growth = c.growth
    ? `<tr><td>Growth ${esc(c.growth.from)} → ${esc(c.growth.to)} (${c.growth.runs} runs)</td><td class="num">stored ${esc(bytes(c.growth.storedGrowthBytes))}, protected mailboxes ${esc(bytes(c.growth.protectedExchangeGrowthBytes))}</td></tr>`
    : "";
  return `<section id="backup-coverage"><h2>Backup coverage</h2>
<p class="meta">VB365 ${esc(c.server)} (API ${esc(c.apiVersion)}), organization ${esc(c.organization.name)}, read ${esc(c.readAt)}.</p>
<div class="cards">
<div class="card" id="protected-share"><div class="v">${esc(pct(protectedShare))}</div><div class="k">Mailboxes protected (${formatInteger(c.protectedInExchange)} of ${formatInteger(c.mailboxesInExchange)})</div></div>
<div class="card" id="data-reduction"><div class="v">${esc(pct(c.dataReductionPercent))}</div><div class="k">Data reduction${c.otherWorkloads === false ? "" : " (other workloads share this repository)"}</div></div>
<div class="card"><div class="v">${esc(bytes(c.storedBytesPerProtectedMailbox))}</div><div class="k">Stored per protected mailbox</div></div>
<div class="card"><div class="v">${formatInteger(c.unprotected.count)}</div><div class="k">Not protected</div></div>
</div>
${split}
<table id="backup-figures"><tbody>
<tr><td>Protected mailboxes / archives (VB365)</td><td class="num">${formatInteger(c.protectedMailboxes)} / ${formatInteger(c.protectedArchives)}</td></tr>
<tr><td>Exchange bytes of the protected mailboxes</td><td class="num">${esc(bytes(c.protectedExchangeBytes))} (${formatInteger(c.protectedExchangeBytes)} bytes)</td></tr>
<tr><td>Exchange bytes of all mailboxes</td><td class="num">${esc(bytes(c.allMailboxesBytes))} (${formatInteger(c.allMailboxesBytes)} bytes)</td></tr>
<tr><td>Stored in the repositories</td><td class="num">${esc(bytes(c.totals.storedBytes))} (${formatInteger(c.totals.storedBytes)} bytes)</td></tr>
<tr><td>Data reduction</td><td class="num">${esc(pct(c.dataReductionPercent))}</td></tr>
<tr><td>Licensed users</td><td class="num">${licensed}</td></tr>
${growth}
</tbody></table>
<p class="note" id="reduction-note">${esc(c.reductionNote)}</p>
<h3>Repositories</h3>
<table id="repositories"><thead><tr><th>Repository</th><th class="num">Mailboxes</th><th class="num">Archives</th><th class="num">Local</th><th class="num">Object storage</th><th class="num">Cache</th><th class="num">Stored bytes</th></tr></thead><tbody>${repoRows}</tbody></table>
<p class="note">${Object.values(c.formulas)
    .map((f) => `<code>${esc(f)}</code>`)
    .join("<br>")}</p>
<h3>Not protected: ${formatInteger(c.unprotected.count)}</h3>${types ? `<p>By type: ${types}.</p>` : ""}
${mailboxList("unprotected", c.unprotected.mailboxes, c.unprotected.count, false)}
<h3>Stale: last backup older than ${c.stale.days} days: ${formatInteger(c.stale.count)}</h3>
${mailboxList("stale", c.stale.mailboxes, c.stale.count, true)}
<h3>Backed up but not in Exchange (deleted or renamed): ${formatInteger(c.orphaned.count)}</h3>
${mailboxList(
  "orphaned",
  c.orphaned.mailboxes.map((o) => ({
    identity: o.email,
    displayName: o.displayName,
    recipientTypeDetails: o.archiveOnly ? "archive only" : "mailbox",
    lastBackup: o.lastBackup,
  })),
  c.orphaned.count,
  true,
)}
${c.warnings.length ? `<ul>${c.warnings.map((w) => `<li>${esc(w)}</li>`).join("")}</ul>` : ""}
</section>`;
}

function failuresSection(failures: Array<MailboxFailure & { tenant?: string }>, warnings: string[]): string {
  const parts: string[] = [];
  if (failures.length > 0) {
    const rows = failures
      .slice(0, 1000)
      .map(
        (f) =>
          `<tr>${f.tenant === undefined ? "" : `<td>${esc(f.tenant)}</td>`}<td>${esc(f.identity)}</td><td>${esc(f.stage)}</td><td>${esc(f.errorType)}: ${esc(f.error)}</td></tr>`,
      )
      .join("\n");
    const more =
      failures.length > 1000 ? `<p>… and ${failures.length - 1000} more (see the JSON/CSV files).</p>` : "";
    parts.push(`<h2 id="errors">Errors: ${failures.length} mailbox(es) not measured</h2>
<p class="status-partial">These mailboxes are missing from the totals. Run the report again with <code>--resume</code> to fetch only them.</p>
<table><thead><tr>${failures[0]?.tenant === undefined ? "" : "<th>Tenant</th>"}<th>Mailbox</th><th>Stage</th><th>Error</th></tr></thead><tbody>${rows}</tbody></table>${more}`);
  }
  if (warnings.length > 0) {
    parts.push(`<h2>Warnings</h2><ul>${warnings.map((w) => `<li>${esc(w)}</li>`).join("")}</ul>`);
  }
  return parts.join("\n");
}

function body(
  counts: TenantCounts,
  totals: UsageTotals,
  status: string,
  growth: Growth | null | undefined,
  backup: BackupComparison | null,
): string {
  return `${cards(counts, totals, status)}
<section><h2>Totals</h2>${totalsTable(totals)}</section>
<section><h2>Mailboxes by type</h2>${typeChart(counts)}<p class="note">Inactive mailboxes are counted but not included in the type counts or size totals.</p></section>
<section><h2>Size distribution</h2>${distributionChart(totals)}</section>
<section><h2>Top ${totals.top.length} mailboxes</h2>${topSection(totals)}</section>
${growth === undefined ? "" : `<section><h2>Growth</h2>${growthSection(growth)}</section>`}
${backupSection(backup)}`;
}

export function renderTenantHtml(report: TenantReport, generatedAt: string): string {
  const status = report.status === "complete" ? "complete" : `partial (${report.failures.length} failed)`;
  return page(
    `Mailbox usage — ${report.tenant}`,
    generatedAt,
    `${body(report.counts, report.totals, status, report.growth, report.backup)}
${coverageSection(report.vb365)}
${failuresSection(report.failures, report.warnings)}`,
  );
}

export function renderCombinedHtml(
  summary: CombinedSummary,
  reports: TenantReport[],
  generatedAt: string,
): string {
  const status = summary.status === "complete" ? "complete" : `partial (${summary.failures.length} failed)`;
  const perTenant = reports
    .map(
      (r) =>
        `<tr><td>${esc(r.tenant)}</td><td class="num">${formatInteger(r.counts.mailboxes)}</td><td class="num">${esc(bytes(r.totals.totalProtectedBytes))}</td><td class="num">${formatInteger(r.totals.totalProtectedBytes)}</td><td>${esc(r.status)}</td></tr>`,
    )
    .join("\n");
  return page(
    `Mailbox usage — ${reports.length} tenants`,
    generatedAt,
    `${body(summary.counts, summary.totals, status, undefined, summary.backup)}
<section><h2>Tenants</h2><table id="tenants"><thead><tr><th>Tenant</th><th class="num">Mailboxes</th><th class="num">Protected</th><th class="num">Bytes</th><th>Status</th></tr></thead><tbody>${perTenant}</tbody></table>
<p class="note">Each tenant also has its own report file with its growth over time.</p></section>
${failuresSection(
  summary.failures,
  reports.flatMap((r) => r.warnings.map((w) => `${r.tenant}: ${w}`)),
)}`,
  );
}
