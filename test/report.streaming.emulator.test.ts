import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RunningEmulator } from "@exo-cba/emulator";
import { startEmulator } from "@exo-cba/emulator";
import { afterAll, expect, it } from "vitest";
import { HttpTransport } from "../src/http/transport.js";
import { runUsageReport } from "../src/report/usage-report.js";
import { readBackupSnapshot, resolveBackupTarget } from "../src/vb365/backup.js";
import { Vb365Client } from "../src/vb365/client.js";
import { createAppCertificate } from "./helpers/invoke-wire.js";
import { connectAsApp, provisionApp, ROLE } from "./helpers/provision.js";

/**
 * The report files are written from the history, row by row (docs/report.md "Memory"). Golden files:
 * test/fixtures/report-streaming/ holds the CSV, JSON and HTML the report wrote for this tenant (300
 * mailboxes, seed 11, VB365 side with two repositories, stale, unprotected and orphaned mailboxes) before
 * the rows were streamed — written by commit 76e8b67, which kept every row in memory. The files written
 * now must be the same bytes, apart from the run id.
 */
interface Vb365Service {
  origin: string;
  username: string;
  password: string;
  fingerprintSha256: string;
  expectedBackup(): { referenceMs: number };
}

const FIXTURES = new URL("./fixtures/report-streaming/", import.meta.url);
const FILE = "usage-contoso.onmicrosoft.com";
const AT = Date.UTC(2026, 9, 3, 12, 0, 0);
const now = () => new Date(AT);
const dirs: string[] = [];
const emulators: RunningEmulator[] = [];

afterAll(async () => {
  for (const e of emulators) await e.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

it("writes the same CSV, JSON and HTML bytes as the report that kept every row in memory", async () => {
  // A clock in whole seconds: the seeded backup times (reference minus an age) then shift by whole seconds.
  const emu = await startEmulator({
    mailboxes: 300,
    seed: 11,
    vb365: {},
    clock: () => Math.floor(Date.now() / 1000) * 1000,
  } as Parameters<typeof startEmulator>[0]);
  emulators.push(emu);
  const vb = (emu as unknown as { vb365?: Vb365Service }).vb365;
  expect(vb, "this emulator has a VB365 service").toBeDefined();
  const transport = new HttpTransport({ caPem: [emu.caPem] });
  const cert = await createAppCertificate("CN=exo-cba-streaming");
  const { appId } = await provisionApp(emu, transport, {
    certificatePem: cert.certificatePem,
    role: ROLE.globalReader,
  });
  const dir = await mkdtemp(join(tmpdir(), "exo-report-streaming-"));
  dirs.push(dir);
  const client = new Vb365Client({
    server: vb!.origin,
    username: vb!.username,
    password: vb!.password,
    trust: { fingerprint: vb!.fingerprintSha256 },
  });
  const resolved = await resolveBackupTarget(client, { tenantId: emu.tenant.id });
  // Backup times are relative to the emulator's start: move them to a fixed reference (an hour before
  // the report), and name the server the same way as when the golden files were written.
  const shift = AT - 3_600_000 - vb!.expectedBackup().referenceMs;
  const moved = (iso: string | null) =>
    iso === null ? null : new Date(Date.parse(iso) + shift).toISOString();
  const read = async () => {
    const snapshot = await readBackupSnapshot(client, resolved, now);
    for (const p of snapshot.protection) {
      for (const e of p.entries.values()) {
        e.primaryBackedUp = moved(e.primaryBackedUp);
        e.archiveBackedUp = moved(e.archiveBackedUp);
      }
    }
    return { ...snapshot, server: "https://vb365.test:4443" };
  };
  const outDir = join(dir, "files");
  const result = await runUsageReport({
    targets: [
      {
        name: emu.tenant.domain,
        organization: emu.tenant.domain,
        backup: { server: "https://vb365.test:4443", read },
        connect: connectAsApp(emu, transport, { appId, ...cert }),
      },
    ],
    historyPath: join(dir, "history.sqlite"),
    outDir,
    formats: ["csv", "json", "html"],
    concurrency: 8,
    now,
  });
  await client.logout();
  transport.close();
  expect(result.partial).toBe(false);
  for (const ext of ["csv", "json", "html"]) {
    const written = (await readFile(join(outDir, `${FILE}.${ext}`), "utf8")).replace(
      /"runId": "[0-9a-f-]{36}"/,
      '"runId": "RUN-ID"',
    );
    const golden = await readFile(new URL(`${FILE}.${ext}`, FIXTURES), "utf8");
    expect(written.length, `${ext} length`).toBe(golden.length);
    expect(written === golden, `${FILE}.${ext} is byte-identical to the golden file`).toBe(true);
  }
}, 120_000);
