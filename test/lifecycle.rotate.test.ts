import type { RunningEmulator } from "@exo-cba/emulator";
import { startEmulator } from "@exo-cba/emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertStore } from "../src/cert/index.js";
import { AuthenticationError } from "../src/errors.js";
import { GraphClient } from "../src/graph/client.js";
import { GraphError } from "../src/graph/errors.js";
import { findKey } from "../src/graph/key-credentials.js";
import { HttpTransport } from "../src/http/transport.js";
import { buildKeyProof } from "../src/lifecycle/proof.js";
import {
  ROTATION_STEPS,
  type RotationStep,
  readRotationJournal,
  rotateCertificate,
} from "../src/lifecycle/rotate.js";
import { freshToken, invokeWith, rotationDeps } from "../src/session/wiring.js";
import { makeKeyedCertificate } from "./helpers/ops-certs.js";
import { runCli } from "./helpers/ops-cli.js";
import { adminApi, profileOf, provisionedHome, resolvedProfile } from "./helpers/ops-emulator.js";

/**
 * Certificate rotation end to end against the in-process emulator: real Graph writes (PATCH and
 * addKey/removeKey with proofs the emulator verifies), real token requests, a live cmdlet as proof.
 */
let emu: RunningEmulator;
let transport: HttpTransport;
/** A provisioned app that no test changes (refused writes only), shared to keep the file fast. */
let shared: { home: string; env: NodeJS.ProcessEnv };
const savedExtraCa = process.env.NODE_EXTRA_CA_CERTS;

beforeAll(async () => {
  emu = await startEmulator({ mailboxes: 3 });
  transport = new HttpTransport({ caPem: [emu.caPem] });
  // The CLI builds its own transport: it trusts the emulator's CA the standard Node way.
  process.env.NODE_EXTRA_CA_CERTS = emu.caFile;
  shared = await provisionedHome(emu, transport, "rot-shared");
});
afterAll(async () => {
  if (savedExtraCa === undefined) delete process.env.NODE_EXTRA_CA_CERTS;
  else process.env.NODE_EXTRA_CA_CERTS = savedExtraCa;
  transport?.close();
  await emu?.close();
});

async function credentialOf(home: string, thumbprint: string) {
  return (await CertStore.open(home, {})).credential(thumbprint);
}

/** Does the profile, as saved, sign in and run a cmdlet? The promise rotation makes at every moment. */
async function profileWorks(env: NodeJS.ProcessEnv, home: string, name: string) {
  const resolved = await resolvedProfile(env, name);
  const p = await profileOf(home, name);
  const rows = await invokeWith(
    resolved,
    await credentialOf(home, p.certificateThumbprint!),
    "Get-OrganizationConfig",
    transport,
  );
  return rows.length === 1;
}

async function appKeys(home: string, name: string) {
  const p = await profileOf(home, name);
  return adminApi(emu, transport).getKeyCredentials(p.appObjectId!);
}

describe("cert rotate against the emulator", () => {
  it("admin rotation: new key added, verified live, profile switched, old key removed and refused", async () => {
    const { home, env } = await provisionedHome(emu, transport, "rot-admin");
    const before = await profileOf(home, "rot-admin");
    const adminEnv = { ...env, EXO_ADMIN_ACCESS_TOKEN: emu.issueAdminToken() };
    const resolved = await resolvedProfile(adminEnv, "rot-admin");
    // The new key is refused (AADSTS700027) until it replicates: verification must wait it out. (The app
    // itself was created just now: let it age past the delay first, as any app being rotated has.)
    await new Promise((resolve) => setTimeout(resolve, 1300));
    emu.configure({ replicationDelayMs: 1200 });
    const progress: string[] = [];
    let result: Awaited<ReturnType<typeof rotateCertificate>>;
    try {
      result = await rotateCertificate(
        await rotationDeps(resolved, { env: adminEnv, transport, onMessage: (t) => progress.push(t) }),
      );
    } finally {
      emu.configure({ replicationDelayMs: 0 });
    }
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[0]).toMatch(/^rotation step 3 \(verify the new certificate\): not yet .*AADSTS700027/);

    const after = await profileOf(home, "rot-admin");
    expect(result.oldThumbprint).toBe(before.certificateThumbprint);
    expect(after.certificateThumbprint).toBe(result.newThumbprint);
    expect(after.previousThumbprint).toBeUndefined();
    const keys = await appKeys(home, "rot-admin");
    expect(keys).toHaveLength(1);
    expect(findKey(keys, result.newThumbprint)).toBeDefined();
    expect(await profileWorks(env, home, "rot-admin")).toBe(true);
    // The old certificate no longer signs in.
    const old = await credentialOf(home, result.oldThumbprint);
    const refused = await freshToken(resolved, old, "exchange", transport).catch((e) => e);
    expect(refused).toBeInstanceOf(AuthenticationError);
    expect((refused as AuthenticationError).aadstsCode).toBe(700027);
  });

  it("interrupted after every step, the profile keeps working and a re-run finishes with exactly one key", async () => {
    const { home, env } = await provisionedHome(emu, transport, "rot-crash");
    const adminEnv = { ...env, EXO_ADMIN_ACCESS_TOKEN: emu.issueAdminToken() };
    for (const crashAt of ROTATION_STEPS) {
      const resolved = await resolvedProfile(adminEnv, "rot-crash");
      const deps = await rotationDeps(resolved, { env: adminEnv, transport });
      deps.afterStep = (step: RotationStep) => {
        if (step === crashAt) throw new Error(`killed after ${step}`);
      };
      await expect(rotateCertificate(deps)).rejects.toThrow(`killed after ${crashAt}`);
      expect(await profileWorks(env, home, "rot-crash")).toBe(true);
      expect(await readRotationJournal(home, "rot-crash")).toBeDefined();

      const resumed = await rotateCertificate(
        await rotationDeps(await resolvedProfile(adminEnv, "rot-crash"), { env: adminEnv, transport }),
      );
      expect(resumed.resumed).toBe(true);
      const keys = await appKeys(home, "rot-crash");
      expect(keys.map((k) => findKey([k], resumed.newThumbprint) !== undefined)).toEqual([true]);
      expect((await profileOf(home, "rot-crash")).certificateThumbprint).toBe(resumed.newThumbprint);
      expect(await profileWorks(env, home, "rot-crash")).toBe(true);
      expect(await readRotationJournal(home, "rot-crash")).toBeUndefined();
    }
  });

  it("self-rotation via addKey/removeKey with proofs, no admin token at all", async () => {
    const { home, env } = await provisionedHome(emu, transport, "rot-self");
    const original = (await profileOf(home, "rot-self")).certificateThumbprint!;
    expect(env.EXO_ADMIN_ACCESS_TOKEN).toBeUndefined();

    // setup recorded the key id of its certificate, so even the first self-rotation can remove the old
    // key with removeKey (proof signed by the new certificate).
    const first = await rotateCertificate(
      await rotationDeps(await resolvedProfile(env, "rot-self"), { env, transport, self: true }),
    );
    expect(first.mode).toBe("self");
    expect(first.oldKeyRemoved).toBe(true);
    let keys = await appKeys(home, "rot-self");
    expect(
      keys.map((k) => [
        findKey([k], original) !== undefined,
        findKey([k], first.newThumbprint) !== undefined,
      ]),
    ).toEqual([[false, true]]);
    expect(await profileWorks(env, home, "rot-self")).toBe(true);

    // Second: the predecessor's id was recorded by the first rotation.
    const second = await rotateCertificate(
      await rotationDeps(await resolvedProfile(env, "rot-self"), { env, transport, self: true }),
    );
    expect(second.oldKeyRemoved).toBe(true);
    keys = await appKeys(home, "rot-self");
    expect(
      keys.map((k) => [
        findKey([k], first.newThumbprint) !== undefined,
        findKey([k], second.newThumbprint) !== undefined,
      ]),
    ).toEqual([[false, true]]);
    expect(await profileWorks(env, home, "rot-self")).toBe(true);
  });

  it("the emulator refuses a forged proof (signed by a certificate that is not on the app) and a proof for another app", async () => {
    const { home, env } = shared;
    const resolved = await resolvedProfile(env, "rot-shared");
    const p = await profileOf(home, "rot-shared");
    const registered = await credentialOf(home, p.certificateThumbprint!);
    const forger = await makeKeyedCertificate(home, "evil.example.com");
    const token = await freshToken(resolved, registered, "graph", transport);
    const graph = new GraphClient({
      endpoint: resolved.endpoints.graphEndpoint,
      transport,
      getToken: async () => token,
    });
    const keyCredential = {
      type: "AsymmetricX509Cert",
      usage: "Verify",
      key: Buffer.from(forger.certificatePem.replace(/-----[^-]+-----|\s/g, ""), "base64").toString("base64"),
    };
    const forged = buildKeyProof({
      applicationObjectId: p.appObjectId!,
      certificatePem: forger.certificatePem,
      privateKeyPem: forger.privateKeyPem,
    });
    const wrongApp = buildKeyProof({
      applicationObjectId: "00000000-0000-0000-0000-000000000000",
      certificatePem: registered.certificatePem,
      privateKeyPem: registered.privateKeyPem,
    });
    for (const proof of [forged, wrongApp]) {
      const error = await graph
        .post(`/applications/${p.appObjectId}/addKey`, { keyCredential, passwordCredential: null, proof })
        .catch((e) => e);
      expect(error).toBeInstanceOf(GraphError);
      expect((error as GraphError).status).toBe(401);
    }
    expect(await appKeys(home, "rot-shared")).toHaveLength(1);
  });

  it("the CLI rotates with --keep-old and records until when; --output json", async () => {
    const { home, env } = await provisionedHome(emu, transport, "rot-cli");
    const before = (await profileOf(home, "rot-cli")).certificateThumbprint!;
    const r = await runCli(
      ["cert", "rotate", "--profile", "rot-cli", "--keep-old-until", "2026-12-31", "--output", "json"],
      { ...env, EXO_ADMIN_ACCESS_TOKEN: emu.issueAdminToken() },
    );
    expect(r.stderr).not.toContain("error:");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      profile: "rot-cli",
      oldThumbprint: before,
      oldKeyRemoved: false,
      keepOldUntil: "2026-12-31",
    });
    expect(r.stderr).toContain(`exo-cba cert revoke ${before}`);
    expect(await profileOf(home, "rot-cli")).toMatchObject({
      previousThumbprint: before,
      keepOldUntil: "2026-12-31",
    });
    expect(await appKeys(home, "rot-cli")).toHaveLength(2);

    // ... and `cert revoke` removes the kept key, clearing the profile's record of it.
    const revoke = await runCli(
      ["cert", "revoke", before, "--profile", "rot-cli", "--yes", "--output", "json"],
      {
        ...env,
        EXO_ADMIN_ACCESS_TOKEN: emu.issueAdminToken(),
      },
    );
    expect(revoke.code).toBe(0);
    expect(JSON.parse(revoke.stdout)).toMatchObject({ removed: true, remainingKeys: 1 });
    expect((await profileOf(home, "rot-cli")).previousThumbprint).toBeUndefined();
    expect(await profileWorks(env, home, "rot-cli")).toBe(true);
  });

  it("unattended admin rotation without EXO_ADMIN_ACCESS_TOKEN fails with exit 2 naming the way out", async () => {
    const r = await runCli(["cert", "rotate", "--profile", "rot-shared"], shared.env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("EXO_ADMIN_ACCESS_TOKEN");
    expect(r.stderr).toContain("--self");
  });
});
