import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  FAKE_MAILBOXES,
  FAKE_TOTALS,
  FakeExchange,
  numberedMailboxes,
} from "../../test/helpers/report-fake.js";
import { AuthenticationError } from "../errors.js";
import { RetryableError, withRetry } from "../http/retry.js";
import { runUsageReport, type TenantEndInfo, type TenantTarget } from "./usage-report.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "exo-usage-report-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const target = (name: string, fake: FakeExchange): TenantTarget => ({
  name,
  organization: `${name}.onmicrosoft.com`,
  connect: async () => fake,
});

/** A clock that advances one minute per reading, from a fixed start. */
const clockFrom = (iso: string) => {
  let t = Date.parse(iso);
  return () => {
    const d = new Date(t);
    t += 60_000;
    return d;
  };
};

describe("runUsageReport", () => {
  it("lists a failing mailbox in the errors, marks the run partial, and --resume fetches only that one", async () => {
    const historyPath = join(dir, "history.sqlite");
    const outDir = join(dir, "out");
    const first = new FakeExchange(FAKE_MAILBOXES);
    first.failPrimary.set("g4", Number.POSITIVE_INFINITY);
    const failuresSeen: string[] = [];
    const r1 = await runUsageReport({
      targets: [target("contoso", first)],
      historyPath,
      outDir,
      formats: ["json", "csv"],
      onFailure: (_t, f) => failuresSeen.push(f.identity),
      now: clockFrom("2026-11-01T00:00:00Z"),
    });
    expect(r1.partial).toBe(true);
    expect(failuresSeen).toEqual(["room1@contoso.com"]);
    const json1 = JSON.parse(await readFile(join(outDir, "usage-contoso.json"), "utf8"));
    expect(json1.status).toBe("partial");
    expect(json1.failures).toEqual([
      expect.objectContaining({
        identity: "room1@contoso.com",
        stage: "primary",
        errorType: "TransientError",
      }),
    ]);
    expect(json1.mailboxes).toHaveLength(4);
    const errorsCsv = await readFile(join(outDir, "usage-contoso-errors.csv"), "utf8");
    expect(errorsCsv.split("\r\n")[1]).toMatch(/^contoso,room1@contoso.com,g4,primary,TransientError,/);
    expect((await stat(join(outDir, "usage-contoso.json"))).mode & 0o777).toBe(0o600);

    // second run with --resume: only g4 is fetched (no archive), the others come from the history
    const second = new FakeExchange(FAKE_MAILBOXES);
    const r2 = await runUsageReport({
      targets: [target("contoso", second)],
      historyPath,
      outDir,
      formats: ["json"],
      resume: true,
      now: clockFrom("2026-11-01T01:00:00Z"),
    });
    expect(r2.partial).toBe(false);
    expect(second.statisticsCalls()).toBe(1);
    expect(second.statisticsCalls("g4")).toBe(1);
    const report = r2.reports[0]!;
    expect(report.run.resumed).toBe(true);
    expect(report.run.runId).toBe(r1.reports[0]!.run.runId);
    expect(report.run.calls.reused).toBe(4);
    expect(report.totals).toMatchObject(FAKE_TOTALS);
    const json2 = JSON.parse(await readFile(join(outDir, "usage-contoso.json"), "utf8"));
    expect(json2.status).toBe("complete");
    expect(json2.failures).toEqual([]);
    expect(json2.totals.totalProtectedBytes).toBe(20490);
  });

  it("without --resume starts a new run and fetches everything again", async () => {
    const historyPath = join(dir, "history.sqlite");
    const first = new FakeExchange(FAKE_MAILBOXES);
    first.failPrimary.set("g4", Number.POSITIVE_INFINITY);
    await runUsageReport({ targets: [target("contoso", first)], historyPath });
    const second = new FakeExchange(FAKE_MAILBOXES);
    await runUsageReport({ targets: [target("contoso", second)], historyPath });
    expect(second.statisticsCalls()).toBe(7);
  });

  it("shows growth once two complete runs are stored (dates from the injected clock)", async () => {
    const historyPath = join(dir, "history.sqlite");
    const small = new FakeExchange(FAKE_MAILBOXES);
    // The clock is read for the start and the end of each run: first run ends 2026-01-01T00:01.
    await runUsageReport({
      targets: [target("contoso", small)],
      historyPath,
      now: clockFrom("2026-01-01T00:00:00Z"),
    });
    const grown = FAKE_MAILBOXES.map((m) => (m.guid === "g3" ? { ...m, bytes: m.bytes + 20490 } : m));
    // second run ends 2027-01-01T00:01 = 365 days later
    const r = await runUsageReport({
      targets: [target("contoso", new FakeExchange(grown))],
      historyPath,
      now: clockFrom("2027-01-01T00:00:00Z"),
    });
    const g = r.reports[0]!.growth!;
    expect(g.days).toBe(365);
    expect(g.firstBytes).toBe(20490);
    expect(g.lastBytes).toBe(40980);
    expect(g.growthBytes).toBe(20490);
    // linear: 20490 × 365.25 / 365 = 20504.034246...
    expect(g.annualisedBytes).toBeCloseTo(20504.0342466, 5);
    // compound: 2^(365.25/365) − 1 = 2 × e^(ln 2 × 0.25/365) − 1 = 2 × 1.00047487 − 1 → 100.09497 %
    expect(g.annualisedPercent).toBeCloseTo(100.09497, 4);
  });

  it("runs several tenants in parallel under one global cap and writes a combined summary", async () => {
    const a = new FakeExchange(FAKE_MAILBOXES);
    const b = new FakeExchange(FAKE_MAILBOXES.slice(0, 2), 1, 0);
    const outDir = join(dir, "out");
    const r = await runUsageReport({
      targets: [target("contoso", a), target("fabrikam", b)],
      historyPath: join(dir, "h.sqlite"),
      concurrency: 2,
      outDir,
      formats: ["json", "html"],
      backupStoredBytes: 10000,
    });
    expect(a.maxInFlight + b.maxInFlight).toBeLessThanOrEqual(4);
    expect(r.summary.counts.mailboxes).toBe(7);
    expect(r.summary.counts.recipients).toBe(8 + 3);
    // 20490 + alice (1000+100+5000+500) + bob (2000+200) = 20490 + 6600 + 2200 = 29290
    expect(r.summary.totals.totalProtectedBytes).toBe(29290);
    // (29290 − 10000) / 29290
    expect(r.summary.backup!.dataReductionPercent).toBeCloseTo((19290 / 29290) * 100, 10);
    expect(r.summary.backup!.capacityPerUserBytes).toBeCloseTo(10000 / 7, 10);
    const combined = JSON.parse(await readFile(join(outDir, "usage-all.json"), "utf8"));
    expect(combined.combined.totals.totalProtectedBytes).toBe(29290);
    expect(combined.tenants.map((t: { tenant: string }) => t.tenant)).toEqual(["contoso", "fabrikam"]);
    expect(r.files.map((f) => f.slice(outDir.length + 1)).sort()).toEqual([
      "usage-all.html",
      "usage-all.json",
      "usage-contoso.html",
      "usage-contoso.json",
      "usage-fabrikam.html",
      "usage-fabrikam.json",
    ]);
  });

  it("hands the client retry hooks under which an unlucky call's backoff stays short while faults are sparse", async () => {
    const fake = new FakeExchange(FAKE_MAILBOXES);
    const waits: number[] = [];
    const unlucky: TenantTarget = {
      name: "contoso",
      organization: "contoso.onmicrosoft.com",
      connect: async (retry) => {
        const answer = fake.invoke.bind(fake);
        let failures = 0;
        // Like the Exchange client: g3's statistics meet three 503s in a row, each retried with our backoff.
        fake.invoke = (name, params = {}) =>
          withRetry(
            async () => {
              if (params.Identity === "g3" && failures < 3) {
                failures++;
                throw new RetryableError("service unavailable (HTTP 503)", { httpStatus: 503 });
              }
              return answer(name, params);
            },
            {
              onRetry: (info) => {
                waits.push(info.delayMs);
                retry.onRetry(info);
              },
              escalate: retry.escalate,
              random: () => 0.999,
              sleep: async () => {},
            },
          );
        return fake;
      },
    };
    const r = await runUsageReport({ targets: [unlucky], historyPath: join(dir, "h.sqlite") });
    expect(r.partial).toBe(false);
    // Escalating, the three waits would be 1,998, 3,996 and 7,992 ms (2 s x 2^n ceilings).
    expect(waits).toEqual([999, 999, 999]);
  });

  it("lets more than ten calls at once listen for Ctrl-C without Node's listener-leak warning, and still stops them", async () => {
    const fake = new FakeExchange(numberedMailboxes(60), 0, 0);
    const answer = fake.invoke.bind(fake);
    const interrupt = new AbortController();
    let listening = 0;
    let maxListening = 0;
    // Like the Exchange client: every call in flight listens to the signal it was given until it ends.
    fake.invoke = async (name, params = {}, options: { signal?: AbortSignal } = {}) => {
      const onAbort = () => {};
      options.signal?.addEventListener("abort", onAbort);
      maxListening = Math.max(maxListening, ++listening);
      try {
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (params.Identity === "m40") interrupt.abort();
        return await answer(name, params);
      } finally {
        listening--;
        options.signal?.removeEventListener("abort", onAbort);
      }
    };
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on("warning", onWarning);
    try {
      const r = await runUsageReport({
        targets: [target("contoso", fake)],
        historyPath: join(dir, "h.sqlite"),
        concurrency: 16,
        signal: interrupt.signal,
      });
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
      expect(maxListening).toBeGreaterThan(10);
      expect(warnings.filter((w) => w.name === "MaxListenersExceededWarning")).toEqual([]);
      // The interruption reached the collection: the run is partial, the rest listed as not fetched.
      expect(r.partial).toBe(true);
      expect(r.reports[0]!.failures.some((f) => f.error === "not fetched: the run was interrupted")).toBe(
        true,
      );
    } finally {
      process.off("warning", onWarning);
    }
  });

  it("keeps the other tenants when one cannot sign in (partial), and fails with the cause when none can", async () => {
    const refusing: TenantTarget = {
      name: "broken",
      organization: "broken.onmicrosoft.com",
      connect: async () => {
        throw new AuthenticationError("AADSTS700027: bad assertion", { aadstsCode: 700027 });
      },
    };
    const ended: TenantEndInfo[] = [];
    const r = await runUsageReport({
      targets: [target("contoso", new FakeExchange(FAKE_MAILBOXES)), refusing],
      historyPath: join(dir, "h.sqlite"),
      onTenantEnd: (info) => ended.push(info),
    });
    // One summary per tenant, whatever its outcome (what `report.tenant` log records are made of).
    const byTenant = new Map(ended.map((e) => [e.tenant, e]));
    expect(ended).toHaveLength(2);
    expect(byTenant.get("contoso")).toMatchObject({ status: "complete", throttled: 0 });
    expect(byTenant.get("contoso")!.report!.counts.mailboxes).toBe(FAKE_MAILBOXES.length);
    expect(byTenant.get("broken")).toMatchObject({ status: "error", organization: "broken.onmicrosoft.com" });
    expect(byTenant.get("broken")!.error).toBeInstanceOf(AuthenticationError);
    expect(byTenant.get("broken")!.report).toBeUndefined();
    expect(r.partial).toBe(true);
    expect(r.tenantErrors.map((e) => e.tenant)).toEqual(["broken"]);
    expect(r.reports.map((x) => x.tenant)).toEqual(["contoso"]);
    await expect(
      runUsageReport({ targets: [refusing], historyPath: join(dir, "h.sqlite") }),
    ).rejects.toBeInstanceOf(AuthenticationError);
  });
});
