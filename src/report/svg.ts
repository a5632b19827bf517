/**
 * Small server-side SVG charts for the HTML report: plain markup, no script, no fonts or images, so
 * the file renders the same offline, in any browser and on paper.
 */

export const escapeXml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));

export interface BarItem {
  label: string;
  /** bar segments, drawn left to right; one segment for a simple bar */
  values: number[];
  /** text printed after the bar */
  text: string;
}

/** Horizontal bars, one per item; several values per item are stacked (legend names them). */
export function horizontalBarChart(
  title: string,
  items: BarItem[],
  options: { legend?: string[]; width?: number } = {},
): string {
  const width = options.width ?? 720;
  const labelWidth = 220;
  const textWidth = 150;
  const barArea = width - labelWidth - textWidth - 20;
  const rowHeight = 24;
  const legendHeight = options.legend ? 24 : 0;
  const height = items.length * rowHeight + legendHeight + 10;
  const max = Math.max(1, ...items.map((i) => i.values.reduce((a, b) => a + b, 0)));
  const parts: string[] = [];
  items.forEach((item, row) => {
    const y = legendHeight + row * rowHeight + 4;
    parts.push(
      `<text x="${labelWidth - 8}" y="${y + 14}" text-anchor="end" class="label">${escapeXml(item.label)}</text>`,
    );
    let x = labelWidth;
    item.values.forEach((v, seg) => {
      const w = (v / max) * barArea;
      if (w > 0) {
        parts.push(
          `<rect x="${fmt(x)}" y="${y}" width="${fmt(Math.max(w, 1))}" height="${rowHeight - 8}" class="s${seg}"><title>${escapeXml(item.label)}: ${v}</title></rect>`,
        );
      }
      x += w;
    });
    parts.push(`<text x="${fmt(x + 6)}" y="${y + 14}" class="value">${escapeXml(item.text)}</text>`);
  });
  if (options.legend) {
    options.legend.forEach((name, i) => {
      const x = labelWidth + i * 140;
      parts.push(`<rect x="${x}" y="4" width="12" height="12" class="s${i}"/>`);
      parts.push(`<text x="${x + 18}" y="15" class="label">${escapeXml(name)}</text>`);
    });
  }
  return svg(title, width, height, parts);
}

/** Vertical columns with labels below (the size distribution). */
export function columnChart(
  title: string,
  items: Array<{ label: string; value: number; text: string }>,
): string {
  const width = 720;
  const height = 260;
  const plotTop = 20;
  const plotBottom = height - 50;
  const slot = (width - 40) / Math.max(1, items.length);
  const max = Math.max(1, ...items.map((i) => i.value));
  const parts: string[] = [
    `<line x1="20" y1="${plotBottom}" x2="${width - 20}" y2="${plotBottom}" class="axis"/>`,
  ];
  items.forEach((item, i) => {
    const h = (item.value / max) * (plotBottom - plotTop - 20);
    const x = 20 + i * slot + slot * 0.15;
    const w = slot * 0.7;
    parts.push(
      `<rect x="${fmt(x)}" y="${fmt(plotBottom - Math.max(h, 1))}" width="${fmt(w)}" height="${fmt(Math.max(h, 1))}" class="s0"><title>${escapeXml(item.label)}: ${item.value}</title></rect>`,
    );
    parts.push(
      `<text x="${fmt(x + w / 2)}" y="${fmt(plotBottom - Math.max(h, 1) - 6)}" text-anchor="middle" class="value">${escapeXml(item.text)}</text>`,
    );
    parts.push(
      `<text x="${fmt(x + w / 2)}" y="${plotBottom + 20}" text-anchor="middle" class="label">${escapeXml(item.label)}</text>`,
    );
  });
  return svg(title, width, height, parts);
}

/** A line over time (growth trend): x by date, y from 0 to the largest value. */
export function lineChart(
  title: string,
  points: Array<{ at: string; value: number }>,
  formatValue: (v: number) => string,
): string {
  const width = 720;
  const height = 280;
  const left = 90;
  const right = width - 30;
  const top = 20;
  const bottom = height - 50;
  const times = points.map((p) => Date.parse(p.at));
  const t0 = Math.min(...times);
  const t1 = Math.max(...times);
  const max = Math.max(1, ...points.map((p) => p.value));
  const xOf = (t: number) =>
    t1 === t0 ? (left + right) / 2 : left + ((t - t0) / (t1 - t0)) * (right - left);
  const yOf = (v: number) => bottom - (v / max) * (bottom - top);
  const parts: string[] = [
    `<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" class="axis"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" class="axis"/>`,
    `<text x="${left - 6}" y="${top + 4}" text-anchor="end" class="label">${escapeXml(formatValue(max))}</text>`,
    `<text x="${left - 6}" y="${bottom}" text-anchor="end" class="label">0</text>`,
  ];
  const coords = points.map((p, i) => `${fmt(xOf(times[i]!))},${fmt(yOf(p.value))}`);
  parts.push(`<polyline points="${coords.join(" ")}" class="line"/>`);
  points.forEach((p, i) => {
    const x = xOf(times[i]!);
    parts.push(
      `<circle cx="${fmt(x)}" cy="${fmt(yOf(p.value))}" r="4" class="dot"><title>${escapeXml(p.at)}: ${escapeXml(formatValue(p.value))}</title></circle>`,
    );
  });
  const first = points[0]!;
  const last = points[points.length - 1]!;
  parts.push(`<text x="${left}" y="${bottom + 20}" class="label">${escapeXml(first.at.slice(0, 10))}</text>`);
  parts.push(
    `<text x="${right}" y="${bottom + 20}" text-anchor="end" class="label">${escapeXml(last.at.slice(0, 10))}</text>`,
  );
  return svg(title, width, height, parts);
}

function svg(title: string, width: number, height: number, parts: string[]): string {
  return `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeXml(title)}"><title>${escapeXml(title)}</title>${parts.join("")}</svg>`;
}
