import { execFileSync } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { FakeClock, FakeDirectory } from "../../test/helpers/setup-fake-directory.js";
import { findRole } from "../auth/roles.js";
import { AuthorizationError, TransientError } from "../errors.js";
import { appendKeyCredential, keyMatchesThumbprint } from "../graph/key-credentials.js";
import { Deadline } from "../graph/replication.js";
import {
  APPLY_STEPS,
  applyCertificate,
  applyExchangeServicePrincipal,
  applyPlan,
  type DesiredState,
  type PlanItem,
  planFrom,
  readTenantState,
  type SetupCertificate,
  STEP_IDS,
  type StepId,
  type StepRun,
  type TenantState,
  withExchangePermission,
} from "./steps.js";

function makeCertificate(cn: string): SetupCertificate {
  const dir = mkdtempSync(join(tmpdir(), "exo-setup-cert-"));
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-subj",
      `/CN=${cn}`,
      "-days",
      "30",
      "-keyout",
      join(dir, "k.pem"),
      "-out",
      join(dir, "c.pem"),
    ],
    { stdio: "ignore" },
  );
  const pem = readFileSync(join(dir, "c.pem"), "utf8");
  const x = new X509Certificate(pem);
  return {
    thumbprint: x.fingerprint.replace(/:/g, ""),
    certificatePem: pem,
    subject: `CN=${cn}`,
    notBefore: new Date(x.validFrom),
    notAfter: new Date(x.validTo),
  };
}

let ours: SetupCertificate;
let other: SetupCertificate;
beforeAll(() => {
  ours = makeCertificate("ours.example");
  other = makeCertificate("other.example");
});

const role = findRole("global-reader")!;
let clock: FakeClock;
let dir: FakeDirectory;
let desired: DesiredState;

beforeEach(() => {
  clock = new FakeClock();
  dir = new FakeDirectory(clock);
  desired = { uniqueName: "exo-cba-t1", displayName: "exo-cba", role, certificate: ours };
});

async function converge(options: { afterStep?: (s: StepId) => void; timeoutMs?: number } = {}) {
  const state = await readTenantState(dir.asApi(), desired);
  const plan = planFrom(state, desired);
  const ids = await applyPlan(
    {
      api: dir.asApi(),
      desired,
      deadline: new Deadline(clock, options.timeoutMs ?? 300_000),
      progress: () => {},
      ...(options.afterStep ? { afterStep: options.afterStep } : {}),
    },
    state,
    plan,
  );
  return { plan, ids };
}

function expectExactlyOneOfEach() {
  expect(dir.apps).toHaveLength(1);
  const app = dir.apps[0]!.value;
  const ourSps = dir.sps.filter((s) => s.value.appId === app.appId);
  expect(ourSps).toHaveLength(1);
  expect(dir.grants).toHaveLength(1);
  expect(dir.roles).toHaveLength(1);
  const keys = dir.keys.get(app.id)!;
  expect(keys.filter((k) => keyMatchesThumbprint(k, ours.thumbprint))).toHaveLength(1);
  expect(dir.grants[0]!.value).toMatchObject({
    principalId: ourSps[0]!.value.id,
    resourceId: "exo-sp",
    appRoleId: "dc50a0fb-09a3-484d-be87-e023b12c6440",
  });
  expect(dir.roles[0]!.value).toMatchObject({
    principalId: ourSps[0]!.value.id,
    roleDefinitionId: "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
    directoryScopeId: "/",
  });
}

describe("plan and apply against a fake directory", () => {
  it("creates everything on a fresh tenant, then a second run plans only 'exists' and writes nothing", async () => {
    const first = await converge();
    expect(first.plan.map((p) => [p.step, p.action])).toEqual([
      ["application", "create"],
      ["certificate", "create"],
      ["service-principal", "create"],
      ["exchange-service-principal", "exists"],
      ["consent", "create"],
      ["role", "create"],
    ]);
    expectExactlyOneOfEach();
    const app = dir.apps[0]!.value;
    expect(app.signInAudience).toBe("AzureADMyOrg");
    expect(app.requiredResourceAccess).toEqual([
      {
        resourceAppId: "00000002-0000-0ff1-ce00-000000000000",
        resourceAccess: [{ id: "dc50a0fb-09a3-484d-be87-e023b12c6440", type: "Role" }],
      },
    ]);
    expect(first.ids.appId).toBe(app.appId);

    const writesBefore = dir.writes.length;
    const second = await converge();
    expect(second.plan.every((p) => p.action === "exists")).toBe(true);
    expect(dir.writes.length).toBe(writesBefore);
    expect(second.ids).toEqual(first.ids);
  });

  it("keeps another certificate already on the app", async () => {
    desired.certificate = other;
    await converge();
    const appId = dir.apps[0]!.value.id;
    const otherKeyId = dir.keys.get(appId)![0]!.keyId;
    desired.certificate = ours;
    const { plan } = await converge();
    expect(plan.find((p) => p.step === "certificate")).toMatchObject({ action: "update" });
    expect(plan.find((p) => p.step === "certificate")!.detail).toContain("keeps 1 other key");
    const keys = dir.keys.get(appId)!;
    expect(keys).toHaveLength(2);
    expect(keys.some((k) => k.keyId === otherKeyId && keyMatchesThumbprint(k, other.thumbprint))).toBe(true);
    expect(keys.some((k) => keyMatchesThumbprint(k, ours.thumbprint))).toBe(true);
  });

  for (const [k, step] of STEP_IDS.entries()) {
    it(`a run killed after step ${k + 1} (${step}) converges on re-run to exactly one of everything`, async () => {
      await expect(
        converge({
          afterStep: (s) => {
            if (s === step) throw new Error(`killed after ${s}`);
          },
        }),
      ).rejects.toThrow(`killed after ${step}`);
      await converge();
      expectExactlyOneOfEach();
    });
  }

  it("waits out replication lag between dependent writes instead of failing", async () => {
    dir.lagMs = 4000;
    const start = clock.now();
    await converge();
    expectExactlyOneOfEach();
    // The app, then the SP, each had to become visible: at least two lag windows, and not much more.
    const waited = clock.now() - start;
    expect(waited).toBeGreaterThanOrEqual(8000);
    expect(waited).toBeLessThanOrEqual(8000 * 1.3);
    expect(clock.sleeps.every((ms) => ms <= 10_000)).toBe(true);
  });

  it("stops at the deadline with a message naming the step", async () => {
    dir.lagMs = 60_000;
    const error = await converge({ timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toContain("certificate on the application");
    expect((error as TransientError).hint).toContain("--timeout");
  });

  it("maps a 403 on the role assignment to admin-rights naming Privileged Role Administrator", async () => {
    dir.deny.add("createRoleAssignment");
    const error = await converge().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthorizationError);
    expect((error as AuthorizationError).reason).toBe("admin-rights");
    expect((error as AuthorizationError).message).toContain("assign the Global Reader role");
    expect((error as AuthorizationError).hint).toContain("Privileged Role Administrator");
  });

  it("creates the Exchange Online service principal when the tenant lacks it", async () => {
    dir = new FakeDirectory(clock, { withExchangeSp: false });
    const { plan, ids } = await converge();
    expect(plan.find((p) => p.step === "exchange-service-principal")!.action).toBe("create");
    expect(ids.exchangeServicePrincipalId).toBe("exo-sp-new");
    expect(dir.grants[0]!.value.resourceId).toBe("exo-sp-new");
  });

  it("adds the permission to an existing app that lacks it, keeping its other permissions", async () => {
    await dir.upsertApplication("exo-cba-t1", {
      displayName: "exo-cba",
      requiredResourceAccess: [
        {
          resourceAppId: "00000003-0000-0000-c000-000000000000",
          resourceAccess: [{ id: "x", type: "Scope" }],
        },
      ],
    });
    const { plan } = await converge();
    expect(plan[0]).toMatchObject({ step: "application", action: "update" });
    expect(dir.apps[0]!.value.requiredResourceAccess).toHaveLength(2);
    expectExactlyOneOfEach();
  });

  it("treats 'already exists' answers from a concurrent run as success", async () => {
    const state = await readTenantState(dir.asApi(), desired);
    const plan = planFrom(state, desired);
    await converge(); // a concurrent run finishes first
    const ids = await applyPlan(
      { api: dir.asApi(), desired, deadline: new Deadline(clock, 60_000), progress: () => {} },
      state,
      plan,
    );
    expectExactlyOneOfEach();
    expect(ids.roleAssignmentId).toBe(dir.roles[0]!.value.id);
  });
});

describe("key credential helpers", () => {
  it("recognises our certificate by customKeyIdentifier (base64 thumbprint bytes), by hex, or by key bytes", () => {
    const der = Buffer.from(
      ours.certificatePem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, ""),
      "base64",
    );
    const sha1 = createHash("sha1").update(der).digest();
    const base = { type: "AsymmetricX509Cert", usage: "Verify" };
    expect(
      keyMatchesThumbprint({ ...base, customKeyIdentifier: sha1.toString("base64") }, ours.thumbprint),
    ).toBe(true);
    expect(
      keyMatchesThumbprint({ ...base, customKeyIdentifier: ours.thumbprint.toLowerCase() }, ours.thumbprint),
    ).toBe(true);
    expect(keyMatchesThumbprint({ ...base, key: der.toString("base64") }, ours.thumbprint)).toBe(true);
    expect(
      keyMatchesThumbprint(
        { ...base, key: Buffer.from(ours.certificatePem).toString("base64") },
        ours.thumbprint,
      ),
    ).toBe(true);
    expect(keyMatchesThumbprint({ ...base, key: der.toString("base64") }, other.thumbprint)).toBe(false);
    expect(keyMatchesThumbprint({ ...base, customKeyIdentifier: null, key: null }, ours.thumbprint)).toBe(
      false,
    );
  });

  it("re-sends existing keys by keyId with a null key and appends the new one", () => {
    const existing = [
      {
        keyId: "k1",
        type: "AsymmetricX509Cert",
        usage: "Verify",
        key: "AAAA",
        displayName: "CN=old",
        customKeyIdentifier: "QUJD",
      },
    ];
    const added = { type: "AsymmetricX509Cert", usage: "Verify", key: "BBBB" };
    expect(appendKeyCredential(existing, added)).toEqual([
      {
        keyId: "k1",
        type: "AsymmetricX509Cert",
        usage: "Verify",
        key: null,
        displayName: "CN=old",
        customKeyIdentifier: "QUJD",
      },
      added,
    ]);
  });

  it("adds Exchange.ManageAsApp next to other Exchange permissions without duplicating it", () => {
    const exo = "00000002-0000-0ff1-ce00-000000000000";
    const once = withExchangePermission([
      { resourceAppId: exo, resourceAccess: [{ id: "other-role", type: "Role" }] },
    ]);
    expect(once).toEqual([
      {
        resourceAppId: exo,
        resourceAccess: [
          { id: "other-role", type: "Role" },
          { id: "dc50a0fb-09a3-484d-be87-e023b12c6440", type: "Role" },
        ],
      },
    ]);
    expect(withExchangePermission(once)).toEqual(once);
  });
});

describe("apply steps, each alone", () => {
  /** One step's run against the fake directory: the ids earlier steps would have left, no progress output. */
  function stepRun(
    state: Partial<TenantState>,
    ids: StepRun["ids"] = {},
    action: PlanItem["action"] = "create",
  ): StepRun {
    const ctx = { api: dir.asApi(), desired, deadline: new Deadline(clock, 60_000), progress: () => {} };
    return {
      ctx,
      state: { keyCredentials: [], otherRoles: [], ...state },
      action,
      ids,
      waitFor: (what) => ({ deadline: ctx.deadline, what }),
    };
  }

  it("the table holds one step per STEP_IDS entry, in that order", () => {
    expect(Object.keys(APPLY_STEPS)).toEqual([...STEP_IDS]);
  });

  it("certificate: creates the certificate only when it runs, appends it once, and a re-run finds it", async () => {
    const { application } = await dir.upsertApplication("exo-cba-t1", { displayName: "exo-cba" });
    const app = application!;
    desired = { ...desired, certificate: undefined };
    let created = 0;
    const run = stepRun({}, { appObjectId: app.id, appId: app.appId });
    run.ctx = {
      ...run.ctx,
      desired,
      createCertificate: async () => {
        created++;
        return ours;
      },
    };
    expect(await applyCertificate(run)).toEqual({ action: "updated" });
    expect(created).toBe(1);
    expect(dir.keys.get(app.id)?.filter((k) => keyMatchesThumbprint(k, ours.thumbprint))).toHaveLength(1);
    expect(await applyCertificate(run)).toEqual({ action: "exists" });
    expect(dir.writes.filter((w) => w === "setKeyCredentials")).toHaveLength(1);
    // The plan said it exists: nothing is read or written, and no certificate is made.
    expect(await applyCertificate({ ...run, action: "exists" })).toEqual({ action: "exists" });
    expect(created).toBe(1);
  });

  it("Exchange service principal: found and used as is, created when missing, refused without Exchange.ManageAsApp", async () => {
    const present = (await dir.findServicePrincipalByAppId("00000002-0000-0ff1-ce00-000000000000"))!;
    const ids: StepRun["ids"] = {};
    expect(await applyExchangeServicePrincipal(stepRun({ exchangeServicePrincipal: present }, ids))).toEqual({
      action: "exists",
      objectId: "exo-sp",
    });
    expect(ids.exchangeServicePrincipalId).toBe("exo-sp");

    dir = new FakeDirectory(clock, { withExchangeSp: false });
    expect(await applyExchangeServicePrincipal(stepRun({}))).toEqual({
      action: "created",
      objectId: "exo-sp-new",
    });

    const odd = { ...present, appRoles: [{ id: "another-role", value: "full_access_as_app" }] };
    await expect(applyExchangeServicePrincipal(stepRun({ exchangeServicePrincipal: odd }))).rejects.toThrow(
      /has no Exchange\.ManageAsApp app role/,
    );
  });
});
