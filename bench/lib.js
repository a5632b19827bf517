// Shared helpers of the benchmarks: timing, child processes with peak-RSS measurement, and the report table.
import { spawn } from "node:child_process";
import { performance } from "node:perf_hooks";

export const now = () => performance.now();

/** Run `fn` and return [result, milliseconds]. */
export async function timed(fn) {
  const start = now();
  const result = await fn();
  return [result, now() - start];
}

/**
 * Run a node script in a child process so its peak RSS is its own. The child prints one JSON line
 * (its result) as the last line on stdout; we add its wall time and peak RSS (maxRSS from the child
 * itself via process.resourceUsage, in MB).
 */
export function runChild(script, args = [], env = {}) {
  return new Promise((resolve, reject) => {
    const start = now();
    const child = spawn(process.execPath, [script, ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const ms = now() - start;
      if (code !== 0) return reject(new Error(`${script} exited with ${code}`));
      const last = out.trim().split("\n").pop() ?? "{}";
      resolve({ ...JSON.parse(last), wallMs: ms });
    });
  });
}

export const mb = (bytes) => Math.round((bytes / 1024 / 1024) * 10) / 10;
export const round = (x, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Print rows as an aligned table on stdout. */
export function printTable(rows) {
  const cols = ["benchmark", "metric", "value", "goal", "ok"];
  const cells = rows.map((r) => cols.map((c) => String(r[c] ?? "")));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (vals) => vals.map((v, i) => v.padEnd(widths[i])).join("  ");
  console.log(line(cols));
  console.log(line(widths.map((w) => "-".repeat(w))));
  for (const row of cells) console.log(line(row));
}
