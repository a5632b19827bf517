import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RunningEmulator, UsageTruth } from "@exo-cba/emulator";
import { startEmulator } from "@exo-cba/emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpTransport } from "../src/http/transport.js";
import { runUsageReport, type TenantTarget } from "../src/report/usage-report.js";
import { createAppCertificate, type TestCertificate } from "./helpers/invoke-wire.js";
import { connectAsApp, provisionApp, ROLE } from "./helpers/provision.js";

/**
 * The usage report against the emulator: real HTTPS, real app-only sign-in, the real Exchange client
 * with its retries. The oracle is the generator's own truth (`emu.expectedUsage()`), never the report.
 */
const MAILBOXES = 240;
let emu: RunningEmulator;
let transport: HttpTransport;
let cert: TestCertificate;
let appId: string;
let truth: UsageTruth;
let dir: string;
/** added to the emulator's clock: jumping it forward expires every token the client holds */
let skewMs = 0;

beforeAll(async () => {
  emu = await startEmulator({ mailboxes: MAILBOXES, seed: 11, clock: () => Date.now() + skewMs });
  transport = new HttpTransport({ caPem: [emu.caPem] });
  cert = await createAppCertificate("CN=exo-cba-report-test");
  ({ appId } = await provisionApp(emu, transport, {
    certificatePem: cert.certificatePem,
    role: ROLE.globalReader,
  }));
  truth = emu.expectedUsage();
  dir = await mkdtemp(join(tmpdir(), "exo-report-emu-"));
});

afterAll(async () => {
  transport?.close();
  await emu?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A tenant target on the real client (test/helpers/provision.ts). */
function target(): TenantTarget {
  return {
    name: emu.tenant.domain,
    organization: emu.tenant.domain,
    connect: connectAsApp(emu, transport, { appId, ...cert }),
  };
}

async function runInto(name: string, concurrency = 8, onProgress?: (done: number) => void) {
  const outDir = join(dir, name);
  const result = await runUsageReport({
    targets: [target()],
    historyPath: join(dir, `${name}.sqlite`),
    outDir,
    formats: ["json", "csv"],
    concurrency,
    onProgress: (_tenant, p) => onProgress?.(p.done),
  });
  const json = JSON.parse(await readFile(join(outDir, `usage-${emu.tenant.domain}.json`), "utf8"));
  const csv = await readFile(join(outDir, `usage-${emu.tenant.domain}.csv`), "utf8");
  return { result, json, csv };
}

/** The files minus what legitimately differs between two runs (times, run ids, call counters). */
function stable(json: Record<string, unknown>) {
  const { generatedAt: _g, run: _r, ...rest } = json;
  return rest;
}

describe("report usage against the emulator", () => {
  let clean: Awaited<ReturnType<typeof runInto>>;

  it("matches every number of the generated tenant", async () => {
    clean = await runInto("clean");
    const { result, json } = clean;
    expect(result.partial).toBe(false);
    const r = result.reports[0]!;
    expect(r.failures).toEqual([]);
    expect(r.counts.recipients).toBe(truth.recipients);
    expect(r.counts.mailboxes).toBe(truth.mailboxes);
    expect(r.counts.mailboxesByType).toEqual(truth.mailboxesByType);
    expect(r.counts.inactiveMailboxes).toBe(truth.inactiveMailboxes);
    expect(r.counts.archives).toBe(truth.archives);
    expect(r.totals.mailboxesMeasured).toBe(truth.mailboxes);
    expect(r.totals.primaryBytes).toBe(truth.primaryBytes);
    expect(r.totals.primaryItems).toBe(truth.primaryItems);
    expect(r.totals.deletedBytes).toBe(truth.deletedBytes);
    expect(r.totals.deletedItems).toBe(truth.deletedItems);
    expect(r.totals.archiveBytes).toBe(truth.archiveBytes);
    expect(r.totals.archiveItems).toBe(truth.archiveItems);
    expect(r.totals.archiveDeletedBytes).toBe(truth.archiveDeletedBytes);
    expect(r.totals.totalProtectedBytes).toBe(truth.totalProtectedBytes);
    // the file says the same as the returned data
    expect(json.totals.totalProtectedBytes).toBe(truth.totalProtectedBytes);
    expect(json.mailboxes).toHaveLength(truth.mailboxes);
    // statistics once per mailbox, once more per archive
    expect(r.run.calls.statistics).toBe(truth.mailboxes);
    expect(r.run.calls.archiveStatistics).toBe(truth.archives);
    // Never-logged-on mailboxes answered only a warning: counted as empty, named, not failures.
    expect(truth.mailboxesWithoutStatistics).toBeGreaterThan(0);
    expect(r.warnings).toContain(
      `${truth.mailboxesWithoutStatistics} mailbox(es) were never logged on: Exchange returned no statistics for them (only a warning), so they count with 0 bytes and 0 items.`,
    );
  });

  it("writes identical files when throttling, 5xx, dropped connections and token expiry hit the run", async () => {
    expect(clean).toBeDefined();
    const before = emu.stats();
    // Tokens live 400 s: longer than the client's 5-minute refresh-ahead, so it keeps using one token
    // until the emulator's clock jumps 420 s forward a third into the run and every held token is
    // expired on the server (401, fresh token, same request again).
    emu.configure({
      // A budget far below what 12 concurrent calls ask (sustained throttling, whatever the machine load).
      throttle: { concurrency: 4, ratePerSecond: 100, burst: 10 },
      faults: { errorRate: 0.06, dropRate: 0.04, seed: 5 },
      tokenLifetimeSeconds: 400,
    });
    let faulty: Awaited<ReturnType<typeof runInto>>;
    let jumped = false;
    try {
      faulty = await runInto("faulty", 12, (done) => {
        if (!jumped && done >= MAILBOXES / 3) {
          jumped = true;
          skewMs += 420_000;
        }
      });
    } finally {
      emu.configure({ throttle: {}, faults: { errorRate: 0, dropRate: 0 }, tokenLifetimeSeconds: 3599 });
    }
    expect(jumped).toBe(true);
    const after = emu.stats();
    // the faults really happened
    expect(after.throttled - before.throttled).toBeGreaterThan(0);
    expect(after.faultsInjected - before.faultsInjected).toBeGreaterThan(0);
    // one token at the start, at least one more after the jump
    expect(after.tokenRequests - before.tokenRequests).toBeGreaterThanOrEqual(2);
    expect(faulty.result.partial).toBe(false);
    expect(faulty.result.reports[0]!.run.throttled).toBeGreaterThan(0);
    // the client's 429 retries reached the limiter of the call they belonged to
    expect(faulty.result.reports[0]!.run.windowCuts).toBeGreaterThan(0);
    expect(stable(faulty.json)).toEqual(stable(clean.json));
    expect(faulty.csv).toBe(clean.csv);
  });
});
