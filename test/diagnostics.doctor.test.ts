import { chmod, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RunningEmulator } from "@exo-cba/emulator";
import { startEmulator } from "@exo-cba/emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXCHANGE_MANAGE_AS_APP_ROLE_ID } from "../src/auth/roles.js";
import { CertStore } from "../src/cert/index.js";
import { CHECKS, type CheckResult, runDoctor } from "../src/diagnostics/doctor.js";
import type { KeyCredential } from "../src/graph/types.js";
import { HttpTransport } from "../src/http/transport.js";
import { doctorDeps } from "../src/session/wiring.js";
import { makeKeyedCertificate } from "./helpers/ops-certs.js";
import { runCli } from "./helpers/ops-cli.js";
import { adminApi, profileOf, provisionedHome, resolvedProfile } from "./helpers/ops-emulator.js";

/**
 * doctor against the emulator: provision a healthy app with the real setup, break one link at a time
 * through Graph or the file system, and check doctor names that link with the right fix — with an admin
 * token (directory reads) and without one (inferred from the token endpoint and the token's claims).
 */
let emu: RunningEmulator;
let transport: HttpTransport;
let home: string;
let env: NodeJS.ProcessEnv;
let thumbprint: string;
let keyFile: string;
const savedExtraCa = process.env.NODE_EXTRA_CA_CERTS;

beforeAll(async () => {
  emu = await startEmulator({ mailboxes: 3 });
  transport = new HttpTransport({ caPem: [emu.caPem] });
  process.env.NODE_EXTRA_CA_CERTS = emu.caFile;
  ({ home, env } = await provisionedHome(emu, transport, "doc"));
  thumbprint = (await profileOf(home, "doc")).certificateThumbprint!;
  const info = await (await CertStore.open(home, {})).get(thumbprint);
  keyFile = join(home, "certificates", "keys", `${info.keyId}.pem`);
});
afterAll(async () => {
  if (savedExtraCa === undefined) delete process.env.NODE_EXTRA_CA_CERTS;
  else process.env.NODE_EXTRA_CA_CERTS = savedExtraCa;
  transport?.close();
  await emu?.close();
});

async function doctor(options: { admin?: boolean; now?: Date } = {}) {
  const e = options.admin ? { ...env, EXO_ADMIN_ACCESS_TOKEN: emu.issueAdminToken() } : env;
  return runDoctor(
    doctorDeps(await resolvedProfile(e, "doc"), {
      env: e,
      transport,
      ...(options.now ? { now: () => options.now! } : {}),
    }),
  );
}
const result = (results: CheckResult[], check: string) => results.find((r) => r.check === check)!;
const failing = (results: CheckResult[]) => results.filter((r) => r.status === "fail").map((r) => r.check);

async function ids() {
  const p = await profileOf(home, "doc");
  return { appObjectId: p.appObjectId!, spId: p.servicePrincipalId! };
}

describe("doctor against the emulator", () => {
  it("a healthy setup passes every check, with and without an admin token", async () => {
    for (const admin of [false, true]) {
      const results = await doctor({ admin });
      expect(results.filter((r) => r.status !== "ok").map((r) => [r.check, r.status, r.detail])).toEqual([]);
      expect(result(results, CHECKS.role).detail).toContain("Global Reader");
      expect(result(results, CHECKS.exchange).detail).toContain("Exchange answered");
    }
  });

  it("finds the certificate removed from the app", async () => {
    const api = adminApi(emu, transport);
    const { appObjectId } = await ids();
    const saved = await api.getKeyCredentials(appObjectId);
    await api.setKeyCredentials(appObjectId, []);
    try {
      for (const admin of [false, true]) {
        const results = await doctor({ admin });
        expect(failing(results)).toContain(CHECKS.appKey);
        expect(result(results, CHECKS.appKey).detail).toContain(`${thumbprint} is not registered on the app`);
        expect(result(results, CHECKS.appKey).fix).toContain("exo-cba cert rotate --profile doc");
      }
      expect(result(await doctor(), CHECKS.appKey).detail).toContain("AADSTS700027");
    } finally {
      const restored: KeyCredential[] = saved.map((k) => ({
        type: k.type,
        usage: k.usage,
        key: k.key ?? null,
        ...(k.displayName ? { displayName: k.displayName } : {}),
      }));
      await api.setKeyCredentials(appObjectId, restored);
    }
    expect(failing(await doctor())).toEqual([]);
  });

  it("finds the consent removed", async () => {
    const api = adminApi(emu, transport);
    const { spId } = await ids();
    const grant = (await api.listAppRoleAssignments(spId)).find(
      (g) => g.appRoleId === EXCHANGE_MANAGE_AS_APP_ROLE_ID,
    )!;
    await api.deleteAppRoleAssignment(spId, grant.id);
    try {
      const inferred = await doctor();
      expect(failing(inferred)).toEqual(
        expect.arrayContaining([CHECKS.consent, CHECKS.token, CHECKS.exchange]),
      );
      expect(result(inferred, CHECKS.consent).detail).toContain("does not carry Exchange.ManageAsApp");
      expect(result(inferred, CHECKS.consent).fix).toContain("Grant admin consent");
      const read = await doctor({ admin: true });
      expect(result(read, CHECKS.consent)).toMatchObject({
        status: "fail",
        detail: "Exchange.ManageAsApp is not granted to the app",
      });
    } finally {
      await api.grantAppRole(spId, grant.resourceId, EXCHANGE_MANAGE_AS_APP_ROLE_ID);
    }
    expect(failing(await doctor())).toEqual([]);
  });

  it("finds the directory role removed", async () => {
    const api = adminApi(emu, transport);
    const { spId } = await ids();
    const [assignment] = await api.listRoleAssignments(spId);
    await api.deleteRoleAssignment(assignment!.id);
    try {
      for (const admin of [false, true]) {
        const results = await doctor({ admin });
        expect(failing(results)).toContain(CHECKS.role);
        expect(result(results, CHECKS.role).fix).toContain("--role global-reader");
      }
    } finally {
      await api.createRoleAssignment(spId, assignment!.roleDefinitionId);
    }
    expect(failing(await doctor())).toEqual([]);
  });

  it("finds the certificate expired (doctor's clock a year and a half ahead) and warns before", async () => {
    const later = await doctor({ now: new Date(Date.now() + 550 * 86_400_000) });
    expect(result(later, CHECKS.validity).status).toBe("fail");
    expect(result(later, CHECKS.validity).detail).toMatch(/^expired on \d{4}-\d{2}-\d{2}$/);
    expect(result(later, CHECKS.validity).fix).toContain("exo-cba cert rotate --profile doc");
    const soon = await doctor({ now: new Date(Date.now() + 350 * 86_400_000) });
    expect(result(soon, CHECKS.validity).status).toBe("warn");
    expect(result(soon, CHECKS.validity).fix).toContain("--self");
  });

  it("finds a key that does not match the certificate", async () => {
    const original = await readFile(keyFile);
    const other = await makeKeyedCertificate(
      await mkdtemp(join(tmpdir(), "exo-doc-other-")),
      "other.example.com",
    );
    await writeFile(keyFile, other.privateKeyPem, { mode: 0o600 });
    try {
      const results = await doctor();
      expect(result(results, CHECKS.key)).toMatchObject({
        status: "fail",
        detail: "the private key does not belong to this certificate",
      });
      expect(result(results, CHECKS.key).fix).toContain("exo-cba cert import");
    } finally {
      await writeFile(keyFile, original, { mode: 0o600 });
    }
    expect(failing(await doctor())).toEqual([]);
  });

  it.skipIf(process.platform === "win32")("finds a key file other users can read", async () => {
    await chmod(keyFile, 0o644);
    try {
      const results = await doctor();
      expect(result(results, CHECKS.keyFile).status).toBe("fail");
      expect(result(results, CHECKS.keyFile).detail).toContain("is 0644");
      expect(result(results, CHECKS.keyFile).fix).toBe(
        `chmod 600 ${keyFile}  (and chmod 700 on its directory); run the job as the user that owns it.`,
      );
      // The store refuses such a key, so nothing is signed with it.
      expect(result(results, CHECKS.key).detail).toContain("readable by other users");
    } finally {
      await chmod(keyFile, 0o600);
    }
  });

  it("the CLI exits 0 when healthy and 8 with JSON rows when a link is broken", async () => {
    const ok = await runCli(["doctor", "--profile", "doc"], env);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("[ ok ] certificate in the local store");

    await chmod(keyFile, 0o640);
    try {
      const bad = await runCli(["doctor", "--profile", "doc", "--output", "json"], env);
      expect(bad.code).toBe(8);
      const rows = JSON.parse(bad.stdout) as CheckResult[];
      expect(rows.find((r) => r.check === CHECKS.keyFile)?.status).toBe("fail");
      expect(bad.stderr).toContain("doctor found");
    } finally {
      await chmod(keyFile, 0o600);
    }
  });

  it("resolves the profile's role for least-privilege advice", async () => {
    // Exchange Administrator on a read-only (global-reader) profile: broader than needed.
    const api = adminApi(emu, transport);
    const { spId } = await ids();
    const added = await api.createRoleAssignment(spId, "29232cdf-9323-42fd-ade2-1d097af3e4de");
    try {
      const results = await doctor({ admin: true });
      expect(result(results, CHECKS.role).status).toBe("warn");
      expect(result(results, CHECKS.role).detail).toContain(
        "broader than this profile's role (Global Reader)",
      );
    } finally {
      await api.deleteRoleAssignment(added.id);
    }
  });
});
