import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeKeyedCertificate } from "../../test/helpers/ops-certs.js";
import { saveProfile } from "../config/profiles.js";
import type { KeyedCertificate } from "./app-keys.js";
import { certProblemLine, checkCertificates } from "./cert-check.js";

// Certificates valid for one year from 2026-01-01; "now" is moved to probe each verdict.
const MADE = new Date("2026-01-01T00:00:00Z");
let home: string;
let emptyHome: string;
let a: KeyedCertificate;
let b: KeyedCertificate;
beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), "exo-check-"));
  emptyHome = mkdtempSync(join(tmpdir(), "exo-check-empty-"));
  a = await makeKeyedCertificate(home, "a.contoso.com", {
    now: () => MADE,
    notAfter: new Date("2027-01-01T00:00:00Z"),
  });
  b = await makeKeyedCertificate(home, "b.contoso.com", {
    now: () => MADE,
    notAfter: new Date("2026-06-01T00:00:00Z"),
  });
  const base = {
    organization: "contoso.onmicrosoft.com",
    appId: "11111111-2222-3333-4444-555555555555",
    environment: "O365Default",
  };
  await saveProfile(home, { ...base, name: "reports", certificateThumbprint: a.thumbprint });
  await saveProfile(home, { ...base, name: "old", certificateThumbprint: b.thumbprint });
  await saveProfile(home, { ...base, name: "lost", certificateThumbprint: "F".repeat(40) });
});
afterAll(() => {
  rmSync(home, { recursive: true, force: true });
  rmSync(emptyHome, { recursive: true, force: true });
});

describe("checkCertificates", () => {
  it("judges each profile's certificate: ok, expiring, expired, missing", async () => {
    const rows = await checkCertificates({
      home,
      env: {},
      warnDays: 30,
      now: () => new Date("2026-05-20T00:00:00Z"),
    });
    expect(rows.map((r) => [r.profile, r.status, r.daysLeft])).toEqual([
      ["reports", "ok", 226],
      ["old", "expiring", 12],
      ["lost", "missing", undefined],
    ]);
    expect(rows[1]!.detail).toBe("expires in 12 days (2026-06-01)");
    expect(certProblemLine(rows[1]!)).toBe(
      `EXPIRING: profile old, ${b.thumbprint}: expires in 12 days (2026-06-01)`,
    );
    expect(certProblemLine(rows[2]!)).toContain("MISSING: profile lost");
  });

  it("an expired certificate is reported as expired", async () => {
    const rows = await checkCertificates({
      home,
      env: {},
      profile: "old",
      now: () => new Date("2026-07-01T00:00:00Z"),
    });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: "expired", detail: "expired on 2026-06-01" });
  });

  it("--warn-days moves the threshold", async () => {
    const at = () => new Date("2026-05-20T00:00:00Z");
    expect(
      (await checkCertificates({ home, env: {}, profile: "old", warnDays: 10, now: at }))[0]!.status,
    ).toBe("ok");
    expect(
      (await checkCertificates({ home, env: {}, profile: "reports", warnDays: 300, now: at }))[0]!.status,
    ).toBe("expiring");
  });

  it("without profiles it checks the whole store", async () => {
    const only = await makeKeyedCertificate(emptyHome, "c.contoso.com", {
      now: () => MADE,
      notAfter: new Date("2026-02-01T00:00:00Z"),
    });
    const rows = await checkCertificates({
      home: emptyHome,
      env: {},
      now: () => new Date("2026-01-20T00:00:00Z"),
    });
    expect(rows.map((r) => [r.thumbprint, r.status])).toEqual([[only.thumbprint, "expiring"]]);
  });
});
