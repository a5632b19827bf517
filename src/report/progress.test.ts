import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import type { CollectProgress } from "./collect.js";
import { formatDuration, ProgressReporter } from "./progress.js";

const p = (over: Partial<CollectProgress>): CollectProgress => ({
  phase: "statistics",
  listed: 100,
  done: 0,
  failed: 0,
  total: 100,
  window: 8,
  ...over,
});

function capture() {
  const out = new PassThrough();
  let text = "";
  out.on("data", (d) => {
    text += d;
  });
  return { out, text: () => text };
}

describe("ProgressReporter", () => {
  it("prints plain periodic lines with counts and ETA when stderr is not a terminal", () => {
    const c = capture();
    let t = 0;
    const r = new ProgressReporter(c.out, { tty: false, now: () => t, intervalMs: 1000 });
    r.update("contoso", p({ phase: "listing", total: null, listed: 50 }));
    r.update("contoso", p({ done: 0 })); // phase change: printed at once
    t = 500;
    r.update("contoso", p({ done: 10 })); // within the interval: suppressed
    t = 10_000;
    r.update("contoso", p({ done: 25 })); // 25 done in 10 s → 75 left at 2.5/s = 30 s
    r.finish();
    const lines = c.text().trimEnd().split("\n");
    expect(lines[0]).toBe("listing mailboxes: 50 found");
    expect(lines[1]).toBe("0/100 mailboxes (0%) · ETA -- · concurrency 8");
    expect(lines[2]).toBe("25/100 mailboxes (25%) · ETA 30s · concurrency 8");
    expect(lines).toHaveLength(4);
    expect(c.text()).not.toContain("\r");
  });

  it("redraws one bar in place on a terminal", () => {
    const c = capture();
    let t = 0;
    const r = new ProgressReporter(c.out, { tty: true, now: () => t, intervalMs: 0, width: 10 });
    r.update("a", p({ done: 0 }));
    t = 1000;
    r.update("a", p({ done: 50, failed: 1 }));
    r.finish();
    expect(c.text()).toContain("\r\x1b[2K[#####-----] 51/100 mailboxes (51%) · 1 failed · ETA 1s");
    expect(c.text().endsWith("\n")).toBe(true);
  });

  it("leaves mailboxes reused from a resumed run out of the ETA's rate", () => {
    const c = capture();
    let t = 0;
    const r = new ProgressReporter(c.out, { tty: false, now: () => t, intervalMs: 0 });
    r.update("contoso", p({ done: 50 })); // 50 taken from the history at once
    t = 10_000;
    r.update("contoso", p({ done: 75 })); // 25 fetched in 10 s → 25 left at 2.5/s = 10 s
    expect(c.text().trimEnd().split("\n")[1]).toBe("75/100 mailboxes (75%) · ETA 10s · concurrency 8");
  });

  it("formats durations", () => {
    expect(formatDuration(59_400)).toBe("59s");
    expect(formatDuration(61_000)).toBe("1m01s");
    expect(formatDuration(3_720_000)).toBe("1h02m");
  });
});
