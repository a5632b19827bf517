import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { RunningEmulator } from "@exo-cba/emulator";
import { startEmulator } from "@exo-cba/emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/cli/main.js";
import { readProfiles, saveProfile } from "../src/config/profiles.js";
import { HttpTransport } from "../src/http/transport.js";
import { capturedContext } from "./helpers/cli.js";
import { provisionCliApp, ROLE } from "./helpers/provision.js";
import { type FakeData, type FakeVb365, type Item, startFakeVb365 } from "./helpers/vb365-fake.js";

/**
 * `report usage --vb365-*` end to end in-process: the Exchange emulator for the mailboxes, the small
 * fake VB365 server (built from the reference's examples) for the backup side, whose lists are chosen
 * here so the expected unprotected/stale/orphaned mailboxes are known without the report's code.
 */
const PASSWORD = "Vb365-S3cret!pw";
const ORG = "7b2b1e4f-0000-4000-8000-0000000000c1";
const REPO = "459684e0-0000-4000-8000-0000000000c1";
let emu: RunningEmulator;
let dir: string;
let env: NodeJS.ProcessEnv;
let caFile: string;
const savedCa = process.env.NODE_EXTRA_CA_CERTS;
let rows: Array<{ identity: string; recipientTypeDetails: string; hasArchive: boolean }>;
let expected: { unprotected: string[]; stale: string[]; orphaned: string[] };
let data: FakeData;

async function run(argv: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  const c = capturedContext({ ...env, ...extraEnv });
  const code = await main(["report", "usage", ...argv], c.ctx);
  return { code, out: c.stdout(), err: c.stderr() };
}

beforeAll(async () => {
  emu = await startEmulator({ mailboxes: 40, seed: 5 });
  const transport = new HttpTransport({ caPem: [emu.caPem] });
  ({ dir, env } = await provisionCliApp(emu, transport, {
    commonName: "exo-cba-report-vb365",
    role: ROLE.globalReader,
    folderPrefix: "exo-report-vb365-",
  }));
  transport.close();
  // The transport reads NODE_EXTRA_CA_CERTS from the process, as a child process would.
  process.env.NODE_EXTRA_CA_CERTS = emu.caFile;
  // The mailboxes as Exchange lists them (a run without the backup side).
  const first = await run(["--format", "json", "--out", join(dir, "plain")]);
  expect(first.code).toBe(0);
  const file = JSON.parse(await readFile(join(dir, "plain", `usage-${emu.tenant.domain}.json`), "utf8"));
  rows = file.mailboxes;

  // Protect user mailboxes except every 4th; shared/room/equipment/discovery are left out; the 2nd
  // protected mailbox is stale (5 days); archives protected for all protected mailboxes that have one;
  // one backup whose mailbox is gone.
  const users = rows.filter((m) => m.recipientTypeDetails === "UserMailbox");
  const protectedRows = users.filter((_, i) => i % 4 !== 0);
  const stale = protectedRows[1]!.identity;
  const items: Item[] = [];
  const old = new Date(Date.now() - 5 * 86_400_000).toISOString();
  const fresh = new Date(Date.now() - 3_600_000).toISOString();
  for (const m of [
    ...protectedRows,
    { identity: "former@contoso.test", recipientTypeDetails: "", hasArchive: false },
  ]) {
    const base = {
      itemType: "Mailbox",
      repositoryId: REPO,
      displayName: m.identity,
      email: m.identity.toLowerCase(),
      backedUpTime: m.identity === stale ? old : fresh,
      organizationId: ORG,
      backedUpOrganizationId: "bo",
    };
    items.push({ id: `m-${m.identity}`, isArchive: false, ...base });
    if (m.hasArchive) items.push({ id: `a-${m.identity}`, isArchive: true, ...base });
  }
  const protectedSet = new Set(protectedRows.map((m) => m.identity));
  expected = {
    unprotected: rows.filter((m) => !protectedSet.has(m.identity)).map((m) => m.identity),
    stale: [stale],
    orphaned: ["former@contoso.test"],
  };
  data = {
    organizations: [
      { id: ORG, name: emu.tenant.domain, officeName: "contoso", type: "Office365", msid: emu.tenant.id },
    ],
    repositories: [{ id: REPO, name: "Object Repository 01", objectStorage: { id: "os", type: "AmazonS3" } }],
    usedRepositories: {
      [ORG]: [
        {
          repositoryId: REPO,
          usedSpaceBytes: 0,
          localCacheUsedSpaceBytes: 5242880,
          objectStorageUsedSpaceBytes: 121332121,
          isAvailable: true,
        },
      ],
    },
    mailboxData: { [REPO]: items },
    userData: { [REPO]: [] },
    licensedUsers: [
      { id: "l1", name: "a", licenseState: "Licensed", isBackedUp: true, organizationId: ORG },
      { id: "l2", name: "b", licenseState: "Exceeded", isBackedUp: false, organizationId: ORG },
    ],
  };
  caFile = join(dir, "vb365.pem");
});

afterAll(async () => {
  if (savedCa === undefined) delete process.env.NODE_EXTRA_CA_CERTS;
  else process.env.NODE_EXTRA_CA_CERTS = savedCa;
  await emu?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function withFake<T>(fn: (fake: FakeVb365) => Promise<T>, options = {}): Promise<T> {
  const fake = await startFakeVb365(data, { username: "DOMAIN\\svc", password: PASSWORD, ...options });
  await writeFile(caFile, fake.certPem);
  try {
    return await fn(fake);
  } finally {
    await fake.close();
  }
}

const vbFlags = (fake: FakeVb365) => [
  "--vb365-server",
  fake.url,
  "--vb365-username",
  "DOMAIN\\svc",
  "--vb365-ca-file",
  caFile,
];

describe("report usage with the VB365 backup side", () => {
  it("writes the coverage lists, Protected/LastBackup columns and the HTML section; no secret anywhere", async () => {
    const out = join(dir, "full");
    const log = join(dir, "report.log");
    const r = await withFake((fake) =>
      run(
        ["--log-file", log, ...vbFlags(fake), "--format", "csv,json,html", "--out", out, "--output", "json"],
        {
          VB365_PASSWORD: PASSWORD,
        },
      ),
    );
    expect(r.err).not.toContain("error");
    expect(r.code).toBe(0);
    const file = JSON.parse(await readFile(join(out, `usage-${emu.tenant.domain}.json`), "utf8"));
    const v = file.vb365;
    expect(v.status).toBe("complete");
    expect(v.unprotected.mailboxes.map((m: { identity: string }) => m.identity).sort()).toEqual(
      [...expected.unprotected].sort(),
    );
    expect(v.stale.mailboxes.map((m: { identity: string }) => m.identity)).toEqual(expected.stale);
    expect(v.orphaned.mailboxes.map((m: { email: string }) => m.email)).toEqual(expected.orphaned);
    expect(v.totals).toEqual({
      usedSpaceBytes: 0,
      localCacheUsedSpaceBytes: 5242880,
      objectStorageUsedSpaceBytes: 121332121,
      storedBytes: 121332121,
    });
    expect(v.licensedUsers).toEqual({ total: 2, byState: { Licensed: 1, Exceeded: 1 }, backedUp: 1 });
    expect(file.mailboxes.filter((m: { protected: boolean }) => !m.protected)).toHaveLength(
      expected.unprotected.length,
    );
    const csv = await readFile(join(out, `usage-${emu.tenant.domain}.csv`), "utf8");
    expect(csv.split("\r\n")[0]).toMatch(/,LastLogonTime,Protected,ArchiveProtected,LastBackup$/);
    const html = await readFile(join(out, `usage-${emu.tenant.domain}.html`), "utf8");
    expect(html).toContain('<section id="backup-coverage"><h2>Backup coverage</h2>');
    expect(html).toContain("Stale: last backup older than 2 days: 1");
    const everything = [r.out, r.err, await readFile(log, "utf8"), csv, html, JSON.stringify(file)].join(
      "\n",
    );
    expect(everything).not.toContain(PASSWORD);
    expect(everything).not.toMatch(/\b(at|rt)-[0-9a-f]{8}-/); // the fake's token values
  });

  it("--output vb365-columns prints the original seven columns", async () => {
    const r = await withFake((fake) =>
      run([...vbFlags(fake), "--output", "vb365-columns"], { VB365_PASSWORD: PASSWORD }),
    );
    expect(r.code).toBe(0);
    const [header, , values] = r.out.split("\n");
    expect(header).toBe(
      "M365 Mailboxes Backed up Mailboxes on Repo M365 Mailbox Size (MB) Stored on Local Repo (MB) Stored on Object Repo (MB) Data Reduction in % Used Capacity per User (MB)",
    );
    const cells = values!.trim().split(/\s+/).map(Number);
    const protectedCount = rows.length - expected.unprotected.length + 1; // + the orphan's backup
    expect(cells[0]).toBe(emu.expectedUsage().recipients);
    expect(cells[1]).toBe(protectedCount);
    // 121332121 / 1048576 = 115.71… → 116; S = 116
    expect(cells.slice(3, 5)).toEqual([0, 116]);
    expect(cells[6]).toBe(Math.round(116 / protectedCount));
  });

  it("a wrong password stops before the Exchange half with exit 3; the password file is read, never echoed", async () => {
    const pwFile = join(dir, "pw");
    await writeFile(pwFile, "not-the-Right-one\n", { mode: 0o600 });
    const out = join(dir, "badpw");
    const r = await withFake((fake) =>
      run([...vbFlags(fake), "--vb365-password-file", pwFile, "--format", "json", "--out", out]),
    );
    expect(r.code).toBe(3);
    expect(r.err).toContain("refused the sign-in");
    expect(r.err).toContain("--vb365-password-file");
    expect(r.err).not.toContain("not-the-Right-one");
    await expect(readdir(out)).rejects.toThrow();
  });

  it("an unknown organization is exit 5 with the known ones", async () => {
    const r = await withFake((fake) =>
      run([...vbFlags(fake), "--vb365-organization", "nope"], { VB365_PASSWORD: PASSWORD }),
    );
    expect(r.code).toBe(5);
    expect(r.err).toContain(`${emu.tenant.domain} (${ORG})`);
  });

  it("an untrusted VB365 certificate is exit 2 with the fingerprint flag to pin it, and pinning works", async () => {
    await withFake(async (fake) => {
      const r = await run(["--vb365-server", fake.url, "--vb365-username", "DOMAIN\\svc"], {
        VB365_PASSWORD: PASSWORD,
      });
      expect(r.code).toBe(2);
      const flag = r.err.match(/--vb365-certificate-fingerprint ([0-9A-F:]{95})/);
      expect(flag).not.toBeNull();
      const pinned = await run(
        [
          "--vb365-server",
          fake.url,
          "--vb365-username",
          "DOMAIN\\svc",
          "--vb365-certificate-fingerprint",
          flag![1]!,
        ],
        { VB365_PASSWORD: PASSWORD },
      );
      expect(pinned.code).toBe(0);
    });
  });

  it("--vb365-save-profile keeps server, user and trust in the profile (no password); the profile alone brings the backup side back", async () => {
    const home = env.EXO_CBA_HOME!;
    await saveProfile(home, {
      name: "contoso",
      organization: emu.tenant.domain,
      appId: env.EXO_APP_ID!,
      certificateFilePath: env.EXO_CERTIFICATE_FILE_PATH!,
      environment: "O365Default",
    });
    await withFake(async (fake) => {
      const saved = await run(["--profile", "contoso", ...vbFlags(fake), "--vb365-save-profile"], {
        VB365_PASSWORD: PASSWORD,
      });
      expect(saved.code).toBe(0);
      expect(saved.err).toContain("saved the VB365 settings in profile contoso");
      const profile = (await readProfiles(home)).profiles.contoso!;
      expect(profile.vb365).toEqual({ server: fake.url, username: "DOMAIN\\svc", caFile });
      expect(JSON.stringify(profile)).not.toContain(PASSWORD);
      const again = await run(["--profile", "contoso", "--output", "vb365-columns"], {
        VB365_PASSWORD: PASSWORD,
      });
      expect(again.code).toBe(0);
      expect(again.out).toContain("Backed up Mailboxes on Repo");
      const skipped = await run(["--profile", "contoso", "--no-vb365", "--output", "json"]);
      expect(skipped.code).toBe(0);
      expect(JSON.parse(skipped.out).tenants[0].vb365).toBeUndefined();
    });
  });

  it("a backup-side failure during the run keeps the Exchange half: files written, section says why, exit 7", async () => {
    const out = join(dir, "partial");
    const r = await withFake(
      (fake) => run([...vbFlags(fake), "--format", "json,html", "--out", out], { VB365_PASSWORD: PASSWORD }),
      { mailboxDataForbidden: [REPO] },
    );
    expect(r.code).toBe(7);
    expect(r.err).toContain("the backup side from https://127.0.0.1:");
    const file = JSON.parse(await readFile(join(out, `usage-${emu.tenant.domain}.json`), "utf8"));
    expect(file.totals.totalProtectedBytes).toBe(emu.expectedUsage().totalProtectedBytes);
    expect(file.vb365.status).toBe("missing");
    expect(file.vb365.reason).toContain("HTTP 403");
    const html = await readFile(join(out, `usage-${emu.tenant.domain}.html`), "utf8");
    expect(html).toContain("The backup side from");
  });
});
