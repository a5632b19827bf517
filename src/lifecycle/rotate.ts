import { rm } from "node:fs/promises";
import { join } from "node:path";
import * as z from "zod/mini";
import { PROPAGATING_AADSTS } from "../auth/identity-errors.js";
import { homePaths } from "../config/home.js";
import type { Profile } from "../config/profiles.js";
import { normalizeThumbprint } from "../config/validate.js";
import { AuthenticationError, AuthorizationError, UsageError } from "../errors.js";
import { findKey } from "../graph/key-credentials.js";
import { pollIntervalMs } from "../graph/replication.js";
import { type Logger, nullLogger } from "../log/log.js";
import { ensurePrivateDir, readTextIfExists, writeFileAtomic } from "../util/fs.js";
import { withFileLock } from "../util/lock.js";
import type { AppKeyManager, KeyedCertificate } from "./app-keys.js";

/**
 * Zero-downtime certificate rotation (docs/operations.md §6):
 *
 *   1 certificate  create (or take) the new certificate in the local store
 *   2 added        register it on the app next to the old one
 *   3 verified     a live Exchange call authenticated with the new certificate and a fresh token
 *   4 switched     the profile points at the new thumbprint (old one kept as previousThumbprint)
 *   5 removed      the old key leaves the app (or is kept with --keep-old)
 *
 * Each finished step is recorded in a journal (`<home>/journals/rotate-<profile>.json`, atomic writes)
 * before the next starts. Whatever step a crash interrupts, the configuration works: until step 4 the
 * profile uses the old certificate, which is still on the app; from step 4 it uses the new one, which was
 * proven to work. A re-run reads the journal and continues; every step is also idempotent against the
 * tenant (a key already on the app is not added twice, a key already gone is not removed twice).
 */

export const ROTATION_STEPS = ["certificate", "added", "verified", "switched", "removed"] as const;
export type RotationStep = (typeof ROTATION_STEPS)[number];

const JournalSchema = z.object({
  version: z.literal(1),
  profile: z.string(),
  oldThumbprint: z.string(),
  newThumbprint: z.string(),
  /** true when this rotation created the new certificate (as opposed to taking a given one) */
  created: z.boolean(),
  startedAt: z.string(),
  updatedAt: z.string(),
  steps: z.record(z.string(), z.string()),
  addedKeyId: z.optional(z.string()),
  /** keyId of the old certificate on the app, when the profile knew it (lets self mode remove it) */
  oldKeyId: z.optional(z.string()),
});
export type RotationJournal = z.infer<typeof JournalSchema>;

export const rotationJournalPath = (home: string, profile: string) =>
  join(homePaths(home).journals, `rotate-${profile.replace(/[^A-Za-z0-9._-]/g, "_")}.json`);

export async function readRotationJournal(
  home: string,
  profile: string,
): Promise<RotationJournal | undefined> {
  const path = rotationJournalPath(home, profile);
  const text = await readTextIfExists(path);
  if (text === undefined) return undefined;
  let parsed: ReturnType<typeof JournalSchema.safeParse>;
  try {
    parsed = JournalSchema.safeParse(JSON.parse(text));
  } catch {
    parsed = JournalSchema.safeParse(undefined);
  }
  if (!parsed.success) {
    // Unlike setup's journal this one decides what happens next, so a damaged one must not be guessed at.
    throw new UsageError(`The rotation journal ${path} is damaged.`, {
      hint: "Check the profile's certificate with `exo-cba doctor`, then delete the journal and run `exo-cba cert rotate` again.",
    });
  }
  return parsed.data;
}

async function writeJournal(home: string, journal: RotationJournal): Promise<void> {
  await ensurePrivateDir(homePaths(home).journals);
  await writeFileAtomic(rotationJournalPath(home, journal.profile), `${JSON.stringify(journal, null, 2)}\n`, {
    mode: 0o600,
  });
}

export interface RotateOptions {
  /** Take this certificate (already in the local store) instead of creating one. */
  newThumbprint?: string;
  /** Leave the old key on the app (for machines not yet switched); the profile records it. */
  keepOld?: boolean;
  /** ISO date until which the old key is meant to stay (recorded in the profile, shown by doctor). */
  keepOldUntil?: string;
  /** Deadline of the live verification: a new key takes a while to replicate (default 10 minutes). */
  verifyTimeoutMs?: number;
  /** Also stop after this many attempts (default: only the deadline). */
  verifyAttempts?: number;
}

export interface RotationDeps {
  home: string;
  profile: Profile;
  keys: AppKeyManager;
  /** A certificate of the local store with its key. */
  loadCertificate(thumbprint: string): Promise<KeyedCertificate>;
  /** Create a new certificate in the local store, like the current one (subject, key size); its thumbprint. */
  createCertificate(current: KeyedCertificate): Promise<string>;
  /** A live Exchange call with this certificate and a fresh token; throws the typed error on failure. */
  verify(cert: KeyedCertificate): Promise<void>;
  saveProfile(profile: Profile): Promise<void>;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
  /** ms clock of the verification deadline (default Date.now) */
  clock?: () => number;
  logger?: Logger;
  /** One line per wait of the verification, naming the step (the CLI prints it on stderr). */
  onProgress?: (text: string) => void;
  /** Test hook: runs after a step is journalled (tests throw here to simulate a crash after step k). */
  afterStep?: (step: RotationStep) => void | Promise<void>;
}

export interface RotationResult {
  profile: string;
  mode: "admin" | "self";
  oldThumbprint: string;
  newThumbprint: string;
  createdCertificate: boolean;
  resumed: boolean;
  /** What each step did in this run. */
  steps: Array<{ step: RotationStep; outcome: "done" | "already-done" | "skipped" }>;
  oldKeyRemoved: boolean;
  keepOldUntil?: string;
  notes: string[];
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Errors that mean "the new key is not visible to the token endpoint or Exchange yet": AADSTS700027 for
 * a key added a moment ago, 700016 / 7000229 while the app or its service principal replicate, and an
 * Exchange refusal of a token that carries the role (each attempt uses a fresh token).
 */
export function isPropagationDelay(error: unknown): boolean {
  if (error instanceof AuthenticationError) {
    return error.aadstsCode !== undefined && PROPAGATING_AADSTS.includes(error.aadstsCode);
  }
  return error instanceof AuthorizationError && error.reason === "propagating";
}

const VERIFY_STEP = "rotation step 3 (verify the new certificate)";

/** The step's last refusal at its deadline, with the step named; the same error class (same exit code). */
function verificationGaveUp(error: unknown, waitedMs: number, attempts: number): unknown {
  if (!(error instanceof AuthenticationError || error instanceof AuthorizationError)) return error;
  const message = `${VERIFY_STEP}: still refused after ${attempts} attempt(s) in ${Math.round(waitedMs / 1000)} s: ${error.message}`;
  const hint =
    "The new key is on the app and the profile still uses the old certificate, so nothing is broken. Replication can take minutes: run `exo-cba cert rotate` again later (it resumes at this step).";
  if (error instanceof AuthenticationError) {
    return new AuthenticationError(message, {
      ...(error.aadstsCode !== undefined ? { aadstsCode: error.aadstsCode } : {}),
      hint,
      cause: error,
    });
  }
  return new AuthorizationError(message, {
    reason: error.reason,
    ...(error.httpStatus !== undefined ? { httpStatus: error.httpStatus } : {}),
    ...(error.requestId ? { requestId: error.requestId } : {}),
    hint,
    cause: error,
  });
}

function switchProfile(profile: Profile, j: RotationJournal) {
  profile.certificateThumbprint = j.newThumbprint;
  profile.previousThumbprint = j.oldThumbprint;
  if (j.addedKeyId) profile.certificateKeyId = j.addedKeyId;
  else delete profile.certificateKeyId;
}

export async function rotateCertificate(
  deps: RotationDeps,
  options: RotateOptions = {},
): Promise<RotationResult> {
  // One rotation of a profile at a time: a second one waits (bounded) and then stops with exit 6,
  // instead of making a second new certificate and overwriting the first one's journal.
  const path = rotationJournalPath(deps.home, deps.profile.name);
  await ensurePrivateDir(homePaths(deps.home).journals);
  return withFileLock(path, () => rotateUnderLock(deps, options), {
    what: `Rotation of profile '${deps.profile.name}' (${path})`,
  });
}

async function rotateUnderLock(deps: RotationDeps, options: RotateOptions): Promise<RotationResult> {
  const now = deps.now ?? (() => new Date());
  const sleep = deps.sleep ?? defaultSleep;
  const log = deps.logger ?? nullLogger;
  const profile = { ...deps.profile };
  if (!profile.certificateThumbprint) {
    throw new UsageError(`Profile '${profile.name}' does not use a certificate of the local store.`, {
      hint: "Rotation replaces a store certificate; import yours with `exo-cba cert import` and save it in the profile with `exo-cba setup`.",
    });
  }

  let journal = await readRotationJournal(deps.home, profile.name);
  const resumed = journal !== undefined;
  const result: RotationResult = {
    profile: profile.name,
    mode: deps.keys.mode,
    oldThumbprint: "",
    newThumbprint: "",
    createdCertificate: false,
    resumed,
    steps: [],
    oldKeyRemoved: false,
    notes: [],
  };
  const given = options.newThumbprint ? normalizeThumbprint(options.newThumbprint) : undefined;

  // ---- step 1: the new certificate
  let oldCert: KeyedCertificate;
  let newCert: KeyedCertificate;
  if (journal) {
    if (given && given !== journal.newThumbprint) {
      throw new UsageError(
        `A rotation of profile '${profile.name}' to ${journal.newThumbprint} is unfinished; it cannot switch to ${given}.`,
        {
          hint: `Run \`exo-cba cert rotate --profile ${profile.name}\` without --certificate-thumbprint to finish it first.`,
        },
      );
    }
    oldCert = await deps.loadCertificate(journal.oldThumbprint);
    newCert = await deps.loadCertificate(journal.newThumbprint);
    result.steps.push({ step: "certificate", outcome: "already-done" });
    log.event("rotate.resume", { profile: profile.name, done: Object.keys(journal.steps) });
  } else {
    if (profile.previousThumbprint) {
      result.notes.push(
        `The previous certificate ${profile.previousThumbprint} was kept on the app by an earlier rotation; remove it with \`exo-cba cert revoke ${profile.previousThumbprint}\` once no machine uses it.`,
      );
    }
    oldCert = await deps.loadCertificate(profile.certificateThumbprint);
    if (given && given === normalizeThumbprint(oldCert.thumbprint)) {
      throw new UsageError(`${given} is already the profile's certificate.`, {
        hint: "Give the thumbprint of the new certificate, or omit --certificate-thumbprint to create one.",
      });
    }
    const newThumbprint = given ?? (await deps.createCertificate(oldCert));
    newCert = await deps.loadCertificate(newThumbprint);
    const at = now().toISOString();
    journal = {
      version: 1,
      profile: profile.name,
      oldThumbprint: normalizeThumbprint(oldCert.thumbprint),
      newThumbprint: normalizeThumbprint(newCert.thumbprint),
      created: given === undefined,
      startedAt: at,
      updatedAt: at,
      steps: { certificate: at },
      ...(profile.certificateKeyId ? { oldKeyId: profile.certificateKeyId } : {}),
    };
    await writeJournal(deps.home, journal);
    result.steps.push({ step: "certificate", outcome: "done" });
    log.event("rotate.step", {
      step: "certificate",
      newThumbprint: journal.newThumbprint,
      created: journal.created,
    });
    await deps.afterStep?.("certificate");
  }
  const j: RotationJournal = journal;
  result.oldThumbprint = j.oldThumbprint;
  result.newThumbprint = j.newThumbprint;
  result.createdCertificate = j.created;

  const done = async (step: RotationStep, extra: Partial<RotationJournal> = {}) => {
    const at = now().toISOString();
    Object.assign(j, extra);
    j.steps[step] = at;
    j.updatedAt = at;
    await writeJournal(deps.home, j);
    result.steps.push({ step, outcome: "done" });
    log.event("rotate.step", { step, profile: profile.name });
    await deps.afterStep?.(step);
  };
  const already = (step: RotationStep) => {
    if (!j.steps[step]) return false;
    result.steps.push({ step, outcome: "already-done" });
    return true;
  };

  // ---- step 2: the new key on the app, next to the old one
  if (!already("added")) {
    const keys = await deps.keys.list();
    const present = keys ? findKey(keys, j.newThumbprint) : undefined;
    let keyId = present?.keyId;
    if (!present) keyId = (await deps.keys.add(newCert, oldCert)).keyId;
    await done("added", keyId ? { addedKeyId: keyId } : {});
  }

  // ---- step 3: prove the new certificate works before anything depends on it
  if (!already("verified")) {
    // Poll like setup's verification: the wait grows with the time already waited (100 ms – 10 s),
    // bounded by the step's deadline; every attempt signs in afresh (a new token).
    const clock = deps.clock ?? Date.now;
    const started = clock();
    const deadline = started + (options.verifyTimeoutMs ?? 10 * 60_000);
    const maxAttempts = options.verifyAttempts ?? Number.POSITIVE_INFINITY;
    for (let attempt = 1; ; attempt++) {
      try {
        await deps.verify(newCert);
        break;
      } catch (error) {
        if (!isPropagationDelay(error)) throw error;
        const waited = clock() - started;
        const delay = pollIntervalMs(waited, Math.random);
        if (attempt >= maxAttempts || clock() + delay > deadline) {
          throw verificationGaveUp(error, waited, attempt);
        }
        const reason = ((error as Error).message.split(/\r?\n/)[0] ?? "").slice(0, 160);
        log.event("rotate.verify.retry", { attempt, waitMs: delay, reason });
        deps.onProgress?.(
          `${VERIFY_STEP}: not yet (${(waited / 1000).toFixed(1)} s, attempt ${attempt}): ${reason}`,
        );
        await sleep(delay);
      }
    }
    await done("verified");
  }

  // ---- step 4: switch the profile
  if (!already("switched")) {
    switchProfile(profile, j);
    if (options.keepOld && options.keepOldUntil) profile.keepOldUntil = options.keepOldUntil;
    else delete profile.keepOldUntil;
    await deps.saveProfile(profile);
    await done("switched");
  } else {
    // The saved profile is the truth from here on; keep our copy in step with it.
    switchProfile(profile, j);
  }

  // ---- step 5: the old key leaves the app (unless kept)
  if (!already("removed")) {
    if (options.keepOld) {
      if (options.keepOldUntil) {
        profile.keepOldUntil = options.keepOldUntil;
        result.keepOldUntil = options.keepOldUntil;
      }
      await deps.saveProfile(profile);
      result.steps.push({ step: "removed", outcome: "skipped" });
      result.notes.push(
        `The old certificate ${j.oldThumbprint} stays on the app${options.keepOldUntil ? ` until ${options.keepOldUntil}` : ""}; remove it with \`exo-cba cert revoke ${j.oldThumbprint}\` once every machine uses ${j.newThumbprint}.`,
      );
    } else {
      const keys = await deps.keys.list();
      // Self mode usually cannot read the app's keys; the keyId recorded when the old key was added serves.
      const oldKeyId = keys ? findKey(keys, j.oldThumbprint)?.keyId : j.oldKeyId;
      if (keys === undefined && !oldKeyId) {
        // Nothing is broken (the new certificate works); only the clean-up needs an admin.
        await deps.saveProfile(profile);
        result.steps.push({ step: "removed", outcome: "skipped" });
        result.notes.push(
          `The app cannot list its own keys and the old key's id is unknown, so ${j.oldThumbprint} stays on the app. Remove it as an admin: \`exo-cba cert revoke ${j.oldThumbprint}\`. (Later self-rotations can remove their predecessor: the new key's id is now recorded.)`,
        );
        await rm(rotationJournalPath(deps.home, profile.name), { force: true });
        log.event("rotate.end", {
          profile: profile.name,
          newThumbprint: j.newThumbprint,
          oldKeyRemoved: false,
        });
        return result;
      }
      if (oldKeyId) await deps.keys.remove(oldKeyId, newCert);
      delete profile.previousThumbprint;
      delete profile.keepOldUntil;
      await deps.saveProfile(profile);
      await done("removed");
      result.oldKeyRemoved = true;
      result.notes.push(
        `The old certificate ${j.oldThumbprint} is still in the local store; delete it with \`exo-cba cert remove ${j.oldThumbprint}\` when you no longer need it.`,
      );
    }
  }

  await rm(rotationJournalPath(deps.home, profile.name), { force: true });
  log.event("rotate.end", {
    profile: profile.name,
    newThumbprint: j.newThumbprint,
    oldKeyRemoved: result.oldKeyRemoved,
  });
  return result;
}
