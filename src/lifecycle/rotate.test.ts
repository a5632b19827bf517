import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Profile, readProfiles, saveProfile } from "../config/profiles.js";
import { AuthenticationError, ServerError, UsageError } from "../errors.js";
import type { KeyCredential } from "../graph/types.js";
import type { AppKeyManager, KeyedCertificate } from "./app-keys.js";
import {
  isPropagationDelay,
  ROTATION_STEPS,
  type RotationDeps,
  type RotationStep,
  readRotationJournal,
  rotateCertificate,
  rotationJournalPath,
} from "./rotate.js";

const OLD = "A".repeat(40);
const GIVEN = "C".repeat(40);

/** An in-memory tenant app and local store: enough to check what rotation does, step by step. */
class World {
  keys: KeyCredential[] = [
    { keyId: "key-old", type: "AsymmetricX509Cert", usage: "Verify", customKeyIdentifier: OLD },
  ];
  store = new Map<string, KeyedCertificate>();
  adds = 0;
  removes = 0;
  creates = 0;
  verifyCalls = 0;
  /** verification fails with AADSTS700027 this many times (replication delay) */
  notYetVisible = 0;
  /** crash inside a step, after its effect on the tenant but before the journal records it */
  crashAfterEffect: "add" | "remove" | "save" | undefined;
  nextKeyId = 1;

  constructor(readonly home: string) {
    this.store.set(OLD, cert(OLD));
    this.store.set(GIVEN, cert(GIVEN));
  }

  keyManager(): AppKeyManager {
    return {
      mode: "admin",
      list: async () => this.keys.map((k) => ({ ...k })),
      add: async (c) => {
        this.adds++;
        const keyId = `key-${this.nextKeyId++}`;
        this.keys.push({
          keyId,
          type: "AsymmetricX509Cert",
          usage: "Verify",
          customKeyIdentifier: c.thumbprint,
        });
        if (this.crashAfterEffect === "add") throw new Error("crash after add");
        return { keyId };
      },
      remove: async (keyId) => {
        this.removes++;
        this.keys = this.keys.filter((k) => k.keyId !== keyId);
        if (this.crashAfterEffect === "remove") throw new Error("crash after remove");
      },
    };
  }

  deps(profile: Profile, afterStep?: (s: RotationStep) => void): RotationDeps {
    return {
      home: this.home,
      profile,
      keys: this.keyManager(),
      loadCertificate: async (t) => {
        const c = this.store.get(t);
        if (!c) throw new UsageError(`No certificate with thumbprint ${t} in the local store.`);
        return c;
      },
      createCertificate: async () => {
        this.creates++;
        const t = String(this.creates)
          .repeat(40)
          .slice(0, 40)
          .replace(/[^0-9]/g, "1");
        const thumb = `B${t.slice(1)}`;
        this.store.set(thumb, cert(thumb));
        return thumb;
      },
      verify: async (c) => {
        this.verifyCalls++;
        if (this.notYetVisible > 0) {
          this.notYetVisible--;
          throw new AuthenticationError("AADSTS700027: key not found", { aadstsCode: 700027 });
        }
        if (!this.keys.some((k) => k.customKeyIdentifier === c.thumbprint)) {
          throw new AuthenticationError("AADSTS700027: key not found", { aadstsCode: 700027 });
        }
      },
      saveProfile: async (p) => {
        await saveProfile(this.home, p);
        if (this.crashAfterEffect === "save") throw new Error("crash after save");
      },
      now: () => new Date("2026-11-28T21:00:00Z"),
      sleep: async () => {},
      ...(afterStep ? { afterStep } : {}),
    };
  }

  async profile(): Promise<Profile> {
    return (await readProfiles(this.home)).profiles.p!;
  }

  /** The invariant rotation promises at every moment: the profile's certificate is on the app. */
  async profileWorks(): Promise<boolean> {
    const p = await this.profile();
    return this.keys.some((k) => k.customKeyIdentifier === p.certificateThumbprint);
  }
}

function cert(thumbprint: string): KeyedCertificate {
  return {
    thumbprint,
    certificatePem: `pem-${thumbprint}`,
    privateKeyPem: `key-${thumbprint}`,
    subject: "CN=contoso.onmicrosoft.com",
    notBefore: new Date("2026-01-01T00:00:00Z"),
    notAfter: new Date("2027-01-01T00:00:00Z"),
  };
}

let home: string;
let world: World;
beforeEach(async () => {
  home = mkdtempSync(join(tmpdir(), "exo-rotate-"));
  world = new World(home);
  await saveProfile(home, {
    name: "p",
    organization: "contoso.onmicrosoft.com",
    appId: "11111111-2222-3333-4444-555555555555",
    appObjectId: "app-object",
    certificateThumbprint: OLD,
    environment: "O365Default",
  });
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

describe("rotateCertificate — uninterrupted", () => {
  it("creates a certificate, adds it, verifies, switches the profile and removes the old key", async () => {
    const result = await rotateCertificate(world.deps(await world.profile()));
    const p = await world.profile();
    expect(result.newThumbprint).toMatch(/^B/);
    expect(result.steps).toEqual(ROTATION_STEPS.map((step) => ({ step, outcome: "done" })));
    expect(result.createdCertificate).toBe(true);
    expect(result.oldKeyRemoved).toBe(true);
    expect(p.certificateThumbprint).toBe(result.newThumbprint);
    expect(p.previousThumbprint).toBeUndefined();
    expect(world.keys.map((k) => k.customKeyIdentifier)).toEqual([result.newThumbprint]);
    expect([world.adds, world.removes, world.creates]).toEqual([1, 1, 1]);
    expect(await readRotationJournal(home, "p")).toBeUndefined();
  });

  it("takes a given certificate instead of creating one", async () => {
    const result = await rotateCertificate(world.deps(await world.profile()), {
      newThumbprint: GIVEN.toLowerCase(),
    });
    expect(result.newThumbprint).toBe(GIVEN);
    expect(result.createdCertificate).toBe(false);
    expect(world.creates).toBe(0);
    expect((await world.profile()).certificateThumbprint).toBe(GIVEN);
  });

  it("--keep-old leaves the old key on the app and records it in the profile", async () => {
    const result = await rotateCertificate(world.deps(await world.profile()), {
      newThumbprint: GIVEN,
      keepOld: true,
      keepOldUntil: "2026-12-31",
    });
    const p = await world.profile();
    expect(result.steps.at(-1)).toEqual({ step: "removed", outcome: "skipped" });
    expect(world.keys.map((k) => k.customKeyIdentifier)).toEqual([OLD, GIVEN]);
    expect(p.previousThumbprint).toBe(OLD);
    expect(p.keepOldUntil).toBe("2026-12-31");
    expect(result.notes.join(" ")).toContain(`exo-cba cert revoke ${OLD}`);
  });

  it("waits out replication delay of the new key (bounded), then continues", async () => {
    world.notYetVisible = 3;
    const progress: string[] = [];
    await rotateCertificate(
      { ...world.deps(await world.profile()), onProgress: (t) => progress.push(t) },
      { newThumbprint: GIVEN },
    );
    expect(world.verifyCalls).toBe(4);
    expect(progress).toHaveLength(3);
    expect(progress[0]).toMatch(/^rotation step 3 \(verify the new certificate\): not yet .*AADSTS700027/);
    expect((await world.profile()).certificateThumbprint).toBe(GIVEN);
  });

  it("gives up verifying after the attempt budget and keeps the old certificate in use", async () => {
    world.notYetVisible = 100;
    const error = await rotateCertificate(world.deps(await world.profile()), {
      newThumbprint: GIVEN,
      verifyAttempts: 3,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as AuthenticationError).aadstsCode).toBe(700027);
    expect((error as Error).message).toMatch(
      /^rotation step 3 \(verify the new certificate\): still refused after 3 attempt/,
    );
    expect((error as AuthenticationError).hint).toMatch(/resumes at this step/);
    expect(world.verifyCalls).toBe(3);
    expect((await world.profile()).certificateThumbprint).toBe(OLD);
    expect(await world.profileWorks()).toBe(true);
  });

  it("stops at the step's deadline, measured on its clock", async () => {
    world.notYetVisible = 1000;
    let t = 0;
    const deps = {
      ...world.deps(await world.profile()),
      clock: () => t,
      sleep: async (ms: number) => {
        t += ms;
      },
    };
    const error = await rotateCertificate(deps, { newThumbprint: GIVEN, verifyTimeoutMs: 60_000 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(t).toBeLessThanOrEqual(60_000);
    expect(t).toBeGreaterThan(45_000);
    expect((await world.profile()).certificateThumbprint).toBe(OLD);
  });

  it("treats AADSTS7000229 (service principal not replicated yet) as still propagating", async () => {
    expect(isPropagationDelay(new AuthenticationError("AADSTS7000229", { aadstsCode: 7000229 }))).toBe(true);
    expect(isPropagationDelay(new AuthenticationError("AADSTS90002", { aadstsCode: 90002 }))).toBe(false);
  });

  it("does not retry a failure that is not propagation", async () => {
    const deps = world.deps(await world.profile());
    deps.verify = async () => {
      world.verifyCalls++;
      throw new ServerError("Exchange is down");
    };
    await expect(rotateCertificate(deps, { newThumbprint: GIVEN })).rejects.toBeInstanceOf(ServerError);
    expect(world.verifyCalls).toBe(1);
  });

  it("refuses to rotate to the certificate already in use", async () => {
    await expect(
      rotateCertificate(world.deps(await world.profile()), { newThumbprint: OLD }),
    ).rejects.toThrow(/already the profile's certificate/);
  });

  it("writes an owner-only journal while it runs", async () => {
    let mode = 0;
    let journal: unknown;
    await rotateCertificate(
      world.deps(await world.profile(), (step) => {
        if (step === "added") {
          mode = statSync(rotationJournalPath(home, "p")).mode & 0o777;
          journal = JSON.parse(readFileSync(rotationJournalPath(home, "p"), "utf8"));
        }
      }),
      { newThumbprint: GIVEN },
    );
    if (process.platform !== "win32") expect(mode).toBe(0o600);
    expect(journal).toMatchObject({ oldThumbprint: OLD, newThumbprint: GIVEN, addedKeyId: "key-1" });
  });
});

describe("rotateCertificate — interrupted after every step, then resumed", () => {
  it.each(ROTATION_STEPS.map((s, k) => [k + 1, s] as const))(
    "crash after step %i (%s): the configuration still works and a re-run finishes the job",
    async (_k, crashStep) => {
      const crash = (step: RotationStep) => {
        if (step === crashStep) throw new Error(`simulated crash after ${step}`);
      };
      await expect(rotateCertificate(world.deps(await world.profile(), crash))).rejects.toThrow(
        /simulated crash/,
      );
      expect(await world.profileWorks()).toBe(true);

      const resumed = await rotateCertificate(world.deps(await world.profile()));
      const p = await world.profile();
      // The journal survived the crash, so the re-run resumes and skips what was recorded as done.
      expect(resumed.resumed).toBe(true);
      const k = ROTATION_STEPS.indexOf(crashStep);
      expect(resumed.steps.slice(0, k + 1).every((s) => s.outcome === "already-done")).toBe(true);
      expect(p.certificateThumbprint).toMatch(/^B/);
      expect(p.previousThumbprint).toBeUndefined();
      expect(world.keys.map((k) => k.customKeyIdentifier)).toEqual([p.certificateThumbprint]);
      // Nothing done twice: one certificate created, one key added, one removed.
      expect([world.creates, world.adds, world.removes]).toEqual([1, 1, 1]);
      expect(await readRotationJournal(home, "p")).toBeUndefined();
    },
  );

  it.each(["add", "remove", "save"] as const)(
    "crash inside a step after its effect (%s) but before the journal: the re-run does not repeat it",
    async (where) => {
      world.crashAfterEffect = where;
      await expect(
        rotateCertificate(world.deps(await world.profile()), { newThumbprint: GIVEN }),
      ).rejects.toThrow(/crash after/);
      expect(await world.profileWorks()).toBe(true);
      world.crashAfterEffect = undefined;
      await rotateCertificate(world.deps(await world.profile()));
      expect(world.keys.map((k) => k.customKeyIdentifier)).toEqual([GIVEN]);
      expect(world.adds).toBe(1);
      expect(world.removes).toBe(1);
      expect((await world.profile()).certificateThumbprint).toBe(GIVEN);
    },
  );

  it("a resumed rotation refuses a different new certificate", async () => {
    await expect(
      rotateCertificate(
        world.deps(await world.profile(), (s) => {
          if (s === "added") throw new Error("simulated crash");
        }),
        { newThumbprint: GIVEN },
      ),
    ).rejects.toThrow();
    await expect(
      rotateCertificate(world.deps(await world.profile()), { newThumbprint: "D".repeat(40) }),
    ).rejects.toThrow(/unfinished/);
  });

  it("a damaged journal stops the run with a usage error instead of guessing", async () => {
    const { writeFileSync, mkdirSync } = await import("node:fs");
    mkdirSync(join(home, "journals"), { recursive: true });
    writeFileSync(rotationJournalPath(home, "p"), "{ not json");
    await expect(rotateCertificate(world.deps(await world.profile()))).rejects.toThrow(/damaged/);
  });
});

describe("rotateCertificate — self mode, where the app cannot list its own keys", () => {
  function selfDeps(profile: Profile) {
    const deps = world.deps(profile);
    const inner = deps.keys;
    deps.keys = { ...inner, mode: "self", list: async () => undefined };
    return deps;
  }

  it("keeps the old key when its id is unknown, records the new key's id, and the next rotation removes its predecessor", async () => {
    const first = await rotateCertificate(selfDeps(await world.profile()), { newThumbprint: GIVEN });
    let p = await world.profile();
    expect(first.oldKeyRemoved).toBe(false);
    expect(first.steps.at(-1)).toEqual({ step: "removed", outcome: "skipped" });
    expect(first.notes.join(" ")).toContain(`exo-cba cert revoke ${OLD}`);
    expect(p).toMatchObject({
      certificateThumbprint: GIVEN,
      previousThumbprint: OLD,
      certificateKeyId: "key-1",
    });
    expect(await readRotationJournal(home, "p")).toBeUndefined();

    const second = await rotateCertificate(selfDeps(p));
    p = await world.profile();
    expect(second.oldKeyRemoved).toBe(true);
    expect(world.keys.map((k) => k.customKeyIdentifier)).toEqual([OLD, second.newThumbprint]);
    expect(p.certificateKeyId).toBe("key-2");
    expect(p.previousThumbprint).toBeUndefined();
  });
});
