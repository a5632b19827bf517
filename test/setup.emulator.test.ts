import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RunningEmulator } from "@exo-cba/emulator";
import { startEmulator } from "@exo-cba/emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSelfSignedCertificate } from "../src/cert/create.js";
import { CertStore } from "../src/cert/store.js";
import { type CloudEndpoints, resolveEndpoints } from "../src/cloud/environments.js";
import { readProfiles } from "../src/config/profiles.js";
import { AuthorizationError } from "../src/errors.js";
import { GraphClient } from "../src/graph/client.js";
import { DirectoryApi } from "../src/graph/directory.js";
import { keyMatchesThumbprint } from "../src/graph/key-credentials.js";
import { HttpTransport } from "../src/http/transport.js";
import { type SetupOptions, setupExchangeApp, uniqueNameFor } from "../src/setup/setup.js";
import { STEP_IDS } from "../src/setup/steps.js";
import { teardownExchangeApp } from "../src/setup/teardown.js";

/**
 * Setup and teardown end to end against the in-process emulator: real HTTPS, real MSAL app-only sign-in
 * with the registered certificate, and a real Get-OrganizationConfig as the proof.
 */
let emu: RunningEmulator;
let transport: HttpTransport;
let endpoints: CloudEndpoints;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  emu = await startEmulator({ mailboxes: 3 });
  transport = new HttpTransport({ caPem: [emu.caPem] });
  endpoints = resolveEndpoints(undefined, emu.env);
});

afterAll(async () => {
  transport?.close();
  await emu?.close();
});

async function freshHome() {
  const home = await mkdtemp(join(tmpdir(), "exo-setup-"));
  env = { ...emu.env, EXO_CBA_HOME: home };
  return home;
}

function options(home: string, extra: Partial<SetupOptions> = {}): SetupOptions {
  return {
    organization: emu.tenant.domain,
    role: "global-reader",
    home,
    env,
    endpoints,
    transport,
    signIn: { accessToken: emu.issueAdminToken() },
    ...extra,
  };
}

function recorder() {
  const calls: Array<{ method: string; path: string; status: number }> = [];
  return { calls, onGraphResponse: (c: { method: string; path: string; status: number }) => calls.push(c) };
}

/** An independent look at the tenant: how many of each object exist for an app name. */
async function census(uniqueName: string) {
  const token = emu.issueAdminToken();
  const api = new DirectoryApi(
    new GraphClient({ endpoint: endpoints.graphEndpoint, transport, getToken: async () => token }),
  );
  const found = await api.findApplicationByUniqueName(uniqueName);
  const apps = found ? [found] : [];
  const app = apps[0];
  if (!app)
    return {
      apps: 0,
      sps: 0,
      grants: 0,
      roles: 0,
      keys: [] as Awaited<ReturnType<DirectoryApi["getKeyCredentials"]>>,
    };
  const sps = await api.graph.list<{ id: string }>(
    `/servicePrincipals?$filter=${encodeURIComponent(`appId eq '${app.appId}'`)}`,
  );
  const sp = sps[0];
  return {
    apps: apps.length,
    sps: sps.length,
    grants: sp ? (await api.listAppRoleAssignments(sp.id)).length : 0,
    roles: sp ? (await api.listRoleAssignments(sp.id)).length : 0,
    keys: await api.getKeyCredentials(app.id),
  };
}

describe("setup against the emulator", () => {
  it("provisions a fresh tenant, verifies with a live call, and a second run changes nothing", async () => {
    const home = await freshHome();
    const first = await setupExchangeApp(options(home));
    expect(first.status).toBe("applied");
    expect(first.verification?.ok).toBe(true);
    expect(first.appId).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.certificate?.origin).toBe("created");
    expect(first.connect?.powershell).toBe(
      `Connect-ExchangeOnline -CertificateThumbprint ${first.certificate?.thumbprint} -AppId ${first.appId} -Organization ${emu.tenant.domain}`,
    );
    const profiles = await readProfiles(home);
    expect(profiles.defaultProfile).toBe(emu.tenant.domain);
    expect(profiles.profiles[emu.tenant.domain]).toMatchObject({
      appId: first.appId,
      tenantId: emu.tenant.id,
      servicePrincipalId: first.servicePrincipalId,
      certificateThumbprint: first.certificate?.thumbprint,
      role: "global-reader",
    });

    const rec = recorder();
    const second = await setupExchangeApp(options(home, { onGraphResponse: rec.onGraphResponse }));
    expect(second.status).toBe("unchanged");
    expect(second.plan.every((p) => p.action === "exists")).toBe(true);
    expect(rec.calls.filter((c) => c.method !== "GET")).toEqual([]);
    expect(second.appId).toBe(first.appId);
    expect(second.certificate?.thumbprint).toBe(first.certificate?.thumbprint);
    expect(second.verification?.ok).toBe(true);

    // Teardown removes everything; a second teardown finds nothing and says so.
    const down = await teardownExchangeApp({
      home,
      env,
      endpoints,
      transport,
      signIn: { accessToken: emu.issueAdminToken() },
    });
    expect(down.status).toBe("removed");
    expect(down.plan.map((p) => p.what)).toEqual([
      "role-assignment",
      "consent",
      "service-principal",
      "application",
      "profile",
    ]);
    const again = await teardownExchangeApp({
      home,
      env,
      endpoints,
      transport,
      organization: emu.tenant.domain,
      signIn: { accessToken: emu.issueAdminToken() },
    });
    expect(again.status).toBe("nothing-found");
    const sameProfile = await teardownExchangeApp({
      home,
      env,
      endpoints,
      transport,
      profile: emu.tenant.domain,
    });
    expect(sameProfile.status).toBe("nothing-found");
  });

  it("refuses an admin without directory rights, naming the roles needed", async () => {
    const home = await freshHome();
    const helpdesk = emu.users.find((u) => u.userPrincipalName.startsWith("helpdesk@"))!;
    const error = await setupExchangeApp(
      options(home, {
        signIn: { accessToken: emu.issueAdminToken({ userPrincipalName: helpdesk.userPrincipalName }) },
      }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthorizationError);
    expect((error as AuthorizationError).reason).toBe("admin-rights");
    expect((error as AuthorizationError).hint).toMatch(/Application Administrator/);
    // It failed at the first write, so no certificate was made on this machine either.
    expect(await (await CertStore.open(home, env)).list()).toEqual([]);
  });

  it("lets an Application Administrator create the app but stops at the role with Privileged Role Administrator named", async () => {
    const home = await freshHome();
    const appadmin = emu.users.find((u) => u.userPrincipalName.startsWith("appadmin@"))!;
    const events: string[] = [];
    const error = await setupExchangeApp(
      options(home, {
        appName: "exo-cba-appadmin",
        signIn: { accessToken: emu.issueAdminToken({ userPrincipalName: appadmin.userPrincipalName }) },
        progress: (e) => events.push(`${e.step}:${e.status}:${e.detail ?? ""}`),
      }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthorizationError);
    expect((error as AuthorizationError).reason).toBe("admin-rights");
    expect((error as AuthorizationError).message).toContain("role");
    expect((error as AuthorizationError).hint).toContain("Privileged Role Administrator");
    const summary = events.find((e) => e.startsWith("read:failed:"))!;
    expect(summary).toContain("In place: application registration (created");
    const journal = JSON.parse(
      await readFile(
        join(home, "journals", (await import("node:fs")).readdirSync(join(home, "journals"))[0]!),
        "utf8",
      ),
    );
    expect(journal.status).toBe("failed");
    expect(journal.steps.application.status).toBe("done");
  });

  it("resumes after being killed at any step and converges to exactly one of everything", async () => {
    // One state home for all runs: the certificate of the first run is reused (no RSA key per run).
    const home = await freshHome();
    for (const step of STEP_IDS) {
      const appName = `kill-${step}`;
      await expect(
        setupExchangeApp(
          options(home, {
            appName,
            afterStep: (s) => {
              if (s === step) throw new Error(`killed after ${s}`);
            },
          }),
        ),
      ).rejects.toThrow(`killed after ${step}`);
      const resumed = await setupExchangeApp(options(home, { appName }));
      expect(resumed.verification?.ok).toBe(true);
      const c = await census(resumed.uniqueName);
      expect({
        step,
        apps: c.apps,
        sps: c.sps,
        grants: c.grants,
        roles: c.roles,
        keys: c.keys.length,
      }).toEqual({
        step,
        apps: 1,
        sps: 1,
        grants: 1,
        roles: 1,
        keys: 1,
      });
    }
  });

  it("keeps a certificate the app already had when registering a new one", async () => {
    const home = await freshHome();
    const first = await setupExchangeApp(options(home, { appName: "two-certs", skipVerify: true }));
    const other = await createSelfSignedCertificate({ home, env, dnsName: "second.example" });
    const second = await setupExchangeApp(
      options(home, { appName: "two-certs", certificate: { thumbprint: other.thumbprint } }),
    );
    expect(second.plan.find((p) => p.step === "certificate")?.action).toBe("update");
    expect(second.verification?.ok).toBe(true);
    const c = await census(second.uniqueName);
    expect(c.keys).toHaveLength(2);
    expect(c.keys.some((k) => keyMatchesThumbprint(k, first.certificate!.thumbprint))).toBe(true);
    expect(c.keys.some((k) => keyMatchesThumbprint(k, other.thumbprint))).toBe(true);
  });

  it("waits out replication delays (new app, new service principal, new grants) and still verifies", async () => {
    const home = await freshHome();
    emu.configure({ replicationDelayMs: 1500, exchangeRoleDelayMs: 1500 });
    try {
      const waits: string[] = [];
      const before = emu.stats().tokenRequests;
      const result = await setupExchangeApp(
        options(home, {
          appName: "replication",
          progress: (e) => {
            if (e.status === "waiting") waits.push(e.step);
          },
        }),
      );
      expect(result.verification?.ok).toBe(true);
      // Exchange refused the tokens minted before the role reached it; verification kept fetching new
      // ones until one was minted after (each refused attempt costs at least one token request).
      expect(result.verification?.attempts).toBeGreaterThan(1);
      expect(emu.stats().tokenRequests - before).toBeGreaterThanOrEqual(result.verification?.attempts ?? 0);
      // The grants wait for the new service principal, and Exchange for the new grants. (The service
      // principal's own wait for the new app may be hidden behind creating the certificate's RSA key.)
      expect(waits).toContain("consent");
      expect(waits).toContain("verify");
      // (The certificate step re-reads the new application by id, which may not be found yet — that wait
      // too may be hidden behind creating the certificate's key.)
      expect(waits.every((w) => ["certificate", "service-principal", "consent", "verify"].includes(w))).toBe(
        true,
      );
      const c = await census(result.uniqueName);
      expect([c.apps, c.sps, c.grants, c.roles, c.keys.length]).toEqual([1, 1, 1, 1, 1]);
    } finally {
      emu.configure({ replicationDelayMs: 0, exchangeRoleDelayMs: 0 });
    }
  });

  it("when Exchange still refuses at the deadline, says what is missing and keeps what was created", async () => {
    const home = await freshHome();
    let calls = 0;
    const error = await setupExchangeApp(
      options(home, {
        appName: "never-propagates",
        // The deadline covers provisioning too: on a loaded machine 1.5 s was spent before the first
        // verification, leaving no room for a second one. 10 s leaves room for several either way.
        timeoutMs: 10_000,
        verifier: async () => {
          calls++;
          throw new AuthorizationError("Exchange refused Get-OrganizationConfig (HTTP 403).", {
            reason: "role-missing",
          });
        },
      }),
    ).catch((e: unknown) => e);
    expect(calls).toBeGreaterThan(1);
    expect(error).toBeInstanceOf(AuthorizationError);
    expect((error as AuthorizationError).reason).toBe("role-missing");
    expect((error as AuthorizationError).message).toContain(
      "the directory role is not in the app's token yet",
    );
    expect((error as AuthorizationError).hint).toContain("exo-cba test");
    expect((await readProfiles(home)).profiles[emu.tenant.domain]?.appId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("rides out Graph 503/504s and dropped connections with bounded retries", async () => {
    const home = await freshHome();
    emu.configure({ faults: { errorRate: 0.15, dropRate: 0.05, seed: 7, services: ["graph"] } });
    const before = emu.stats().faultsInjected;
    try {
      const result = await setupExchangeApp(options(home, { appName: "flaky-graph" }));
      expect(result.verification?.ok).toBe(true);
      expect(emu.stats().faultsInjected).toBeGreaterThan(before);
    } finally {
      emu.configure({ faults: { errorRate: 0, dropRate: 0, services: [] } });
    }
    const c = await census(uniqueNameFor("flaky-graph", emu.tenant.id));
    expect([c.apps, c.sps, c.grants, c.roles, c.keys.length]).toEqual([1, 1, 1, 1, 1]);
  });

  it("teardown by organization and app name removes a half-done setup (no profile was saved)", async () => {
    const home = await freshHome();
    await expect(
      setupExchangeApp(
        options(home, {
          appName: "half-done",
          afterStep: (s) => {
            if (s === "service-principal") throw new Error("killed");
          },
        }),
      ),
    ).rejects.toThrow("killed");
    expect((await readProfiles(home)).profiles).toEqual({});
    const down = await teardownExchangeApp({
      home,
      env,
      endpoints,
      transport,
      organization: emu.tenant.domain,
      appName: "half-done",
      signIn: { accessToken: emu.issueAdminToken() },
    });
    expect(down.plan.map((p) => p.what)).toEqual(["service-principal", "application"]);
    const c = await census(uniqueNameFor("half-done", emu.tenant.id));
    expect(c.apps).toBe(0);
  });
});

describe("Microsoft Graph under load", () => {
  it("answers 429 with a whole-second Retry-After per tenant; the Graph client waits that long and succeeds", async () => {
    const token = emu.issueAdminToken();
    const waits: number[] = [];
    const graph = new GraphClient({
      endpoint: endpoints.graphEndpoint,
      transport,
      getToken: async () => token,
      sleep: async (ms) => {
        waits.push(ms);
        await new Promise((resolve) => setTimeout(resolve, ms));
      },
    });
    const before = emu.stats().graphThrottled;
    emu.configure({ graphThrottle: { ratePerSecond: 2, burst: 1 } });
    try {
      const answers = await Promise.all([1, 2, 3].map(() => graph.get<{ id: string }>("/organization")));
      expect(answers).toHaveLength(3);
    } finally {
      emu.configure({ graphThrottle: undefined });
    }
    const throttled = emu.stats().graphThrottled - before;
    expect(throttled).toBeGreaterThan(0);
    // Every 429 was waited out for its Retry-After (1 s here), not the client's own shorter backoff.
    expect(waits).toHaveLength(throttled);
    for (const w of waits) expect(w).toBeGreaterThanOrEqual(1000);
  });
});
