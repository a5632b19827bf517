import { describe, expect, it } from "vitest";
import { AuthenticationError, AuthorizationError } from "../errors.js";
import type { KeyCredential } from "../graph/types.js";
import {
  CHECKS,
  type CheckResult,
  type DirectoryReader,
  DOCTOR_CHECKS,
  type DoctorDeps,
  type DoctorRun,
  freshTokenCheck,
  hasFailure,
  keyFileCheck,
  type LocalCertificateFacts,
  runDoctor,
  validityCheck,
} from "./doctor.js";

const THUMB = "ABCDEF0123456789ABCDEF0123456789ABCDEF01";
const GLOBAL_READER = "f2ef992c-3afb-46b9-b7cf-a126ee74c451";
const EXCHANGE_ADMIN = "29232cdf-9323-42fd-ade2-1d097af3e4de";
const GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10";
const MANAGE_AS_APP_ID = "dc50a0fb-09a3-484d-be87-e023b12c6440";
const NOW = new Date("2026-11-28T00:00:00Z");

const jwt = (claims: Record<string, unknown>) =>
  `${Buffer.from('{"alg":"RS256"}').toString("base64url")}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.c2ln`;
const goodToken = jwt({ roles: ["Exchange.ManageAsApp"], wids: [GLOBAL_READER] });

function deps(over: Partial<DoctorDeps> = {}): DoctorDeps {
  return {
    appId: "11111111-2222-3333-4444-555555555555",
    organization: "contoso.onmicrosoft.com",
    now: () => NOW,
    inspectCertificate: async () => ({
      reference: THUMB,
      found: true,
      thumbprint: THUMB,
      subject: "CN=contoso",
      notAfter: new Date("2027-11-28T00:00:00Z"),
      hasKey: true,
      keyMatches: true,
      keyFile: "/home/u/.config/exo-cba/certificates/keys/k.pem",
      keyFileMode: 0o600,
      credential: { certificatePem: "c", privateKeyPem: "k" },
    }),
    acquireToken: async () => goodToken,
    invoke: async () => [{ Name: "contoso" }],
    ...over,
  };
}

const byCheck = (results: CheckResult[], check: string) => results.find((r) => r.check === check)!;

function directory(
  over: Partial<DirectoryReader> = {},
  keys: KeyCredential[] = [
    { keyId: "k1", type: "AsymmetricX509Cert", usage: "Verify", customKeyIdentifier: THUMB },
  ],
) {
  const d: DirectoryReader = {
    findApplicationByAppId: async (appId) => ({ id: "obj-1", appId, displayName: "exo-cba" }),
    getKeyCredentials: async () => keys,
    findServicePrincipalByAppId: async (appId) => ({ id: "sp-1", appId }),
    listAppRoleAssignments: async () => [
      { id: "a", appRoleId: MANAGE_AS_APP_ID, principalId: "sp-1", resourceId: "exo" },
    ],
    listRoleAssignments: async () => [{ id: "r", roleDefinitionId: GLOBAL_READER, principalId: "sp-1" }],
    ...over,
  };
  return d;
}

describe("runDoctor — healthy", () => {
  it("every check passes without an admin token (app, key, consent and role inferred from the token)", async () => {
    const results = await runDoctor(deps());
    expect(results.map((r) => [r.check, r.status])).toEqual([
      [CHECKS.certificate, "ok"],
      [CHECKS.key, "ok"],
      [CHECKS.keyFile, "ok"],
      [CHECKS.validity, "ok"],
      [CHECKS.app, "ok"],
      [CHECKS.appKey, "ok"],
      [CHECKS.consent, "ok"],
      [CHECKS.role, "ok"],
      [CHECKS.token, "ok"],
      [CHECKS.exchange, "ok"],
    ]);
    expect(byCheck(results, CHECKS.role).detail).toBe("Global Reader (from the token)");
    expect(byCheck(results, CHECKS.validity).detail).toBe("365 days left (until 2027-11-28)");
    expect(hasFailure(results)).toBe(false);
  });

  it("with an admin directory every link is read from the directory", async () => {
    const results = await runDoctor(deps({ directory: directory() }));
    expect(results.every((r) => r.status === "ok")).toBe(true);
    expect(byCheck(results, CHECKS.app).detail).toContain("obj-1");
    expect(byCheck(results, CHECKS.appKey).detail).toContain("k1");
  });
});

describe("runDoctor — each broken link is found, with its fix", () => {
  it("certificate removed from the app (directory)", async () => {
    const results = await runDoctor(deps({ directory: directory({}, []) }));
    const r = byCheck(results, CHECKS.appKey);
    expect(r.status).toBe("fail");
    expect(r.detail).toContain(`${THUMB} is not registered on the app`);
    expect(r.fix).toContain("exo-cba cert rotate");
  });

  it("certificate removed from the app (inferred from AADSTS700027)", async () => {
    const results = await runDoctor(
      deps({
        acquireToken: async () =>
          Promise.reject(
            new AuthenticationError("AADSTS700027: key not found", { aadstsCode: 700027, hint: "upload it" }),
          ),
      }),
    );
    expect(byCheck(results, CHECKS.appKey)).toMatchObject({ status: "fail" });
    expect(byCheck(results, CHECKS.appKey).detail).toContain("AADSTS700027");
    expect(byCheck(results, CHECKS.app).status).toBe("ok");
    expect(byCheck(results, CHECKS.token)).toMatchObject({ status: "fail", fix: "upload it" });
    expect(byCheck(results, CHECKS.exchange).status).toBe("skip");
  });

  it("app deleted (AADSTS700016 without admin; missing with admin)", async () => {
    const inferred = await runDoctor(
      deps({
        acquireToken: async () =>
          Promise.reject(new AuthenticationError("AADSTS700016", { aadstsCode: 700016 })),
      }),
    );
    expect(byCheck(inferred, CHECKS.app).status).toBe("fail");
    expect(byCheck(inferred, CHECKS.app).fix).toContain("exo-cba setup");
    const read = await runDoctor(
      deps({ directory: directory({ findApplicationByAppId: async () => undefined }) }),
    );
    expect(byCheck(read, CHECKS.app)).toMatchObject({ status: "fail" });
    expect(byCheck(read, CHECKS.app).detail).toContain("no application with app id");
  });

  it("consent removed", async () => {
    const noRole = jwt({ wids: [GLOBAL_READER] });
    const inferred = await runDoctor(
      deps({
        acquireToken: async () => noRole,
        invoke: async () =>
          Promise.reject(
            new AuthorizationError("401 Unauthorized", {
              reason: "permission-missing",
              hint: "grant consent",
            }),
          ),
      }),
    );
    expect(byCheck(inferred, CHECKS.consent).status).toBe("fail");
    expect(byCheck(inferred, CHECKS.consent).fix).toContain("Grant admin consent");
    expect(byCheck(inferred, CHECKS.token).status).toBe("fail");
    expect(byCheck(inferred, CHECKS.exchange)).toMatchObject({ status: "fail", fix: "grant consent" });

    const read = await runDoctor(
      deps({
        acquireToken: async () => noRole,
        directory: directory({ listAppRoleAssignments: async () => [] }),
      }),
    );
    expect(byCheck(read, CHECKS.consent)).toMatchObject({
      status: "fail",
      detail: "Exchange.ManageAsApp is not granted to the app",
    });
  });

  it("role removed", async () => {
    const noWids = jwt({ roles: ["Exchange.ManageAsApp"] });
    const inferred = await runDoctor(deps({ acquireToken: async () => noWids }));
    expect(byCheck(inferred, CHECKS.role).status).toBe("fail");
    expect(byCheck(inferred, CHECKS.role).fix).toContain("--role global-reader");
    const read = await runDoctor(
      deps({
        acquireToken: async () => noWids,
        directory: directory({ listRoleAssignments: async () => [] }),
      }),
    );
    expect(byCheck(read, CHECKS.role).status).toBe("fail");
  });

  it("granted in the directory but not yet in tokens: a warning about propagation, not a failure", async () => {
    const results = await runDoctor(
      deps({ acquireToken: async () => jwt({ roles: ["Exchange.ManageAsApp"] }), directory: directory() }),
    );
    expect(byCheck(results, CHECKS.role).status).toBe("ok");
    expect(byCheck(results, CHECKS.token).status).toBe("warn");
    expect(byCheck(results, CHECKS.token).fix).toContain("replication");
  });

  it("certificate expired", async () => {
    const base = deps();
    const results = await runDoctor(
      deps({
        inspectCertificate: async () => ({
          ...(await base.inspectCertificate()),
          notAfter: new Date("2026-11-01T00:00:00Z"),
        }),
      }),
    );
    expect(byCheck(results, CHECKS.validity)).toMatchObject({
      status: "fail",
      detail: "expired on 2026-11-01",
    });
    expect(byCheck(results, CHECKS.validity).fix).toContain("EXO_ADMIN_ACCESS_TOKEN");
  });

  it("certificate expiring within --warn-days is a warning", async () => {
    const base = deps();
    const results = await runDoctor(
      deps({
        warnDays: 30,
        inspectCertificate: async () => ({
          ...(await base.inspectCertificate()),
          notAfter: new Date("2026-12-08T12:00:00Z"),
        }),
      }),
    );
    expect(byCheck(results, CHECKS.validity)).toMatchObject({
      status: "warn",
      detail: "10 days left (until 2026-12-08)",
    });
    expect(hasFailure(results)).toBe(false);
  });

  it("key mismatch", async () => {
    const base = await deps().inspectCertificate();
    const { credential: _c, ...rest } = base;
    const results = await runDoctor(
      deps({ inspectCertificate: async () => ({ ...rest, keyMatches: false }) }),
    );
    expect(byCheck(results, CHECKS.key)).toMatchObject({
      status: "fail",
      detail: "the private key does not belong to this certificate",
    });
    expect(byCheck(results, CHECKS.token).status).toBe("skip");
  });

  it("key file mode too open", async () => {
    const base = await deps().inspectCertificate();
    const results = await runDoctor(
      deps({ inspectCertificate: async () => ({ ...base, keyFileMode: 0o644 }) }),
    );
    const r = byCheck(results, CHECKS.keyFile);
    expect(r.status).toBe("fail");
    expect(r.detail).toContain("is 0644");
    expect(r.fix).toBe(
      `chmod 600 ${base.keyFile}  (and chmod 700 on its directory); run the job as the user that owns it.`,
    );
  });

  it("certificate missing from the local store: later checks are skipped, not failed", async () => {
    const results = await runDoctor(
      deps({
        inspectCertificate: async () => ({
          reference: THUMB,
          found: false,
          hasKey: false,
          problem: "not in the local store",
        }),
      }),
    );
    expect(byCheck(results, CHECKS.certificate).status).toBe("fail");
    expect(results.filter((r) => r.status === "fail")).toHaveLength(1);
    expect(byCheck(results, CHECKS.exchange).status).toBe("skip");
  });
});

describe("runDoctor — least-privilege advice", () => {
  it("warns about Global Administrator", async () => {
    const results = await runDoctor(
      deps({ acquireToken: async () => jwt({ roles: ["Exchange.ManageAsApp"], wids: [GLOBAL_ADMIN] }) }),
    );
    expect(byCheck(results, CHECKS.role).status).toBe("warn");
    expect(byCheck(results, CHECKS.role).fix).toContain("Global Reader");
  });

  it("warns when the role is broader than a read-only profile needs", async () => {
    const results = await runDoctor(
      deps({
        profile: {
          name: "reports",
          organization: "contoso.onmicrosoft.com",
          appId: "x",
          environment: "O365Default",
          role: "global-reader",
        },
        directory: directory({
          listRoleAssignments: async () => [
            { id: "r", roleDefinitionId: EXCHANGE_ADMIN, principalId: "sp-1" },
          ],
        }),
      }),
    );
    expect(byCheck(results, CHECKS.role)).toMatchObject({ status: "warn" });
    expect(byCheck(results, CHECKS.role).detail).toContain(
      "broader than this profile's role (Global Reader)",
    );
  });

  it("Exchange Administrator without a read-only profile passes with advice", async () => {
    const results = await runDoctor(
      deps({ acquireToken: async () => jwt({ roles: ["Exchange.ManageAsApp"], wids: [EXCHANGE_ADMIN] }) }),
    );
    expect(byCheck(results, CHECKS.role).status).toBe("ok");
    expect(byCheck(results, CHECKS.role).detail).toContain("Global Reader is enough");
  });
});

describe("runDoctor — admin token problems and kept keys", () => {
  it("falls back to inference when the admin directory read fails, with a warning", async () => {
    const broken = directory({
      findApplicationByAppId: async () => {
        throw new Error("403 Authorization_RequestDenied");
      },
    });
    const results = await runDoctor(deps({ directory: broken }));
    expect(byCheck(results, CHECKS.directory)).toMatchObject({ status: "warn" });
    expect(byCheck(results, CHECKS.directory).detail).toContain("403 Authorization_RequestDenied");
    expect(byCheck(results, CHECKS.app).detail).toContain("inferred");
    expect(results.filter((r) => r.check === CHECKS.app)).toHaveLength(1);
    expect(hasFailure(results)).toBe(false);
  });

  it("reports a previous certificate kept past its keep-old date", async () => {
    const profile = {
      name: "p",
      organization: "contoso.onmicrosoft.com",
      appId: "x",
      environment: "O365Default",
      previousThumbprint: "C".repeat(40),
      keepOldUntil: "2026-11-01",
    };
    const results = await runDoctor(deps({ profile }));
    expect(byCheck(results, CHECKS.previous)).toMatchObject({ status: "warn" });
    expect(byCheck(results, CHECKS.previous).fix).toContain(
      `exo-cba cert revoke ${"C".repeat(40)} --profile p`,
    );
    const fine = await runDoctor(deps({ profile: { ...profile, keepOldUntil: "2027-01-01" } }));
    expect(byCheck(fine, CHECKS.previous)).toMatchObject({ status: "ok" });
  });
});

/** One validator alone: a run with these facts and nothing gathered. */
function runWith(local: Partial<LocalCertificateFacts>, over: Partial<DoctorRun> = {}): DoctorRun {
  return {
    deps: deps(),
    now: () => NOW,
    warnDays: 30,
    profileFlag: " --profile prod",
    local: { reference: THUMB, found: true, thumbprint: THUMB, hasKey: true, ...local },
    ...over,
  };
}

describe("doctor's validators, each alone", () => {
  it("runs them in the order doctor reports", () => {
    expect(DOCTOR_CHECKS.map((c) => c.name)).toEqual([
      CHECKS.certificate,
      CHECKS.key,
      CHECKS.keyFile,
      CHECKS.validity,
      "app, certificate on the app, consent, role",
      CHECKS.token,
      CHECKS.exchange,
      CHECKS.previous,
    ]);
  });

  it("key file permissions: group/world bits fail with the chmod fix, 0600 passes, no mode on Windows skips", () => {
    expect(keyFileCheck(runWith({ keyFile: "/k.pem", keyFileMode: 0o640 }))).toEqual([
      {
        check: CHECKS.keyFile,
        status: "fail",
        detail: "/k.pem is 0640: other users can read the private key",
        fix: "chmod 600 /k.pem  (and chmod 700 on its directory); run the job as the user that owns it.",
      },
    ]);
    expect(keyFileCheck(runWith({ keyFile: "/k.pem", keyFileMode: 0o600 }))).toEqual([
      { check: CHECKS.keyFile, status: "ok", detail: "/k.pem is 0600" },
    ]);
    expect(keyFileCheck(runWith({ keyFile: "C:\\k.pem" }))[0]?.status).toBe("skip");
    expect(keyFileCheck(runWith({ found: false }))).toEqual([
      { check: CHECKS.keyFile, status: "skip", detail: "no certificate" },
    ]);
  });

  it("validity: expired fails, inside the warning window warns, no expiry date reports nothing", () => {
    const expired = validityCheck(runWith({ notAfter: new Date("2026-11-27T00:00:00Z") }));
    expect(expired).toMatchObject([{ status: "fail", detail: "expired on 2026-11-27" }]);
    expect(expired[0]?.fix).toContain("exo-cba cert rotate --profile prod");
    expect(validityCheck(runWith({ notAfter: new Date("2026-12-08T12:00:00Z") }))).toMatchObject([
      { status: "warn", detail: "10 days left (until 2026-12-08)" },
    ]);
    expect(
      validityCheck(runWith({ notAfter: new Date("2026-12-08T12:00:00Z") }, { warnDays: 10 }))[0]?.status,
    ).toBe("ok");
    expect(validityCheck(runWith({}))).toEqual([]);
  });

  it("fresh token: missing permission is a failure, or a replication warning when the directory granted it", () => {
    const token = jwt({ roles: [], wids: [GLOBAL_READER] });
    const rights = {
      roles: [],
      wids: [GLOBAL_READER],
      hasManageAsApp: false,
      exchangeRoles: ["Global Reader"],
      readOnly: true,
      readable: true,
    };
    const credential = { certificatePem: "c", privateKeyPem: "k" };
    const alone = freshTokenCheck(runWith({ credential }, { token, rights }));
    expect(alone).toMatchObject([
      { status: "fail", detail: "roles: none; directory role: Global Reader — missing Exchange.ManageAsApp" },
    ]);
    const granted = freshTokenCheck(
      runWith(
        { credential },
        { token, rights, deps: deps({ directory: directory() }), directoryRoles: [GLOBAL_READER] },
      ),
    );
    expect(granted[0]?.status).toBe("warn");
    expect(freshTokenCheck(runWith({}))).toEqual([
      { check: CHECKS.token, status: "skip", detail: "no usable local certificate" },
    ]);
  });
});
