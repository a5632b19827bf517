import { z } from "zod";
import { UsageError } from "../errors.js";
import { ensurePrivateDir, readTextIfExists, writeFileAtomic } from "../util/fs.js";
import { withFileLock } from "../util/lock.js";
import { homePaths } from "./home.js";

/**
 * A profile holds identifiers only — never a key, password or token (unlike peers that store whole
 * connection objects with secrets). The certificate is referenced by thumbprint in the local store.
 */
export const ProfileSchema = z.object({
  name: z.string().min(1),
  organization: z.string().min(1),
  tenantId: z.string().optional(),
  appId: z.string(),
  appObjectId: z.string().optional(),
  servicePrincipalId: z.string().optional(),
  certificateThumbprint: z.string().optional(),
  certificateFilePath: z.string().optional(),
  environment: z.string().default("O365Default"),
  role: z.string().optional(),
  /** Set while a rotation is under way or an old key is kept (`--keep-old`). */
  previousThumbprint: z.string().optional(),
  /** keyId of the certificate's entry on the app, when known: lets the app remove it itself (removeKey). */
  certificateKeyId: z.string().optional(),
  keepOldUntil: z.string().optional(),
  /** Custom endpoints the profile was created against (emulator, proxies). */
  endpoints: z
    .object({ authorityHost: z.string(), graphEndpoint: z.string(), exchangeEndpoint: z.string() })
    .optional(),
  /** The VB365 server of the usage report's backup side (docs/vb365.md); never a password. */
  vb365: z
    .object({
      server: z.string(),
      username: z.string().optional(),
      organization: z.string().optional(),
      repositories: z.array(z.string()).optional(),
      certificateFingerprint: z.string().optional(),
      caFile: z.string().optional(),
    })
    .optional(),
  createdAt: z.string().optional(),
  updatedAt: z.string().optional(),
});
export type Profile = z.infer<typeof ProfileSchema>;

const ProfilesFileSchema = z.object({
  defaultProfile: z.string().optional(),
  profiles: z.record(z.string(), ProfileSchema).default({}),
});
export type ProfilesFile = z.infer<typeof ProfilesFileSchema>;

export async function readProfiles(home: string): Promise<ProfilesFile> {
  const path = homePaths(home).profiles;
  const text = await readTextIfExists(path);
  if (text === undefined) return { profiles: {} };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UsageError(`The profiles file ${path} is not valid JSON.`, {
      hint: "Fix or delete it; `exo-cba setup` writes it again.",
    });
  }
  const parsed = ProfilesFileSchema.safeParse(json);
  if (!parsed.success) {
    throw new UsageError(`The profiles file ${path} is not in the expected shape: ${parsed.error.message}`);
  }
  return parsed.data;
}

/**
 * Read-modify-write of the profiles file under its lock (`profiles.json.lock`), written atomically:
 * parallel commands (six `setup` runs at once) each keep their change (docs/operations.md "Parallel runs").
 */
async function updateProfiles<T>(home: string, change: (file: ProfilesFile) => T): Promise<T> {
  await ensurePrivateDir(home);
  const path = homePaths(home).profiles;
  return withFileLock(
    path,
    async () => {
      const file = await readProfiles(home);
      const result = change(file);
      await writeFileAtomic(path, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
      return result;
    },
    { what: `The profiles file ${path}` },
  );
}

/** Save (insert or replace) a profile. The first profile saved becomes the default. */
/** Set (only) the VB365 settings of an existing profile, under the file lock. False when it does not exist. */
export async function setProfileVb365(home: string, name: string, vb365: Profile["vb365"]): Promise<boolean> {
  return updateProfiles(home, (file) => {
    const p = file.profiles[name];
    if (!p) return false;
    file.profiles[name] = { ...p, vb365, updatedAt: new Date().toISOString() };
    return true;
  });
}

export async function saveProfile(home: string, profile: Profile, options: { makeDefault?: boolean } = {}) {
  return updateProfiles(home, (file) => {
    const now = new Date().toISOString();
    const existing = file.profiles[profile.name];
    const saved = { ...profile, createdAt: existing?.createdAt ?? now, updatedAt: now };
    file.profiles[profile.name] = saved;
    if (!file.defaultProfile || options.makeDefault) file.defaultProfile = profile.name;
    return saved;
  });
}

export async function removeProfile(home: string, name: string): Promise<boolean> {
  if (!(await readProfiles(home)).profiles[name]) return false;
  return updateProfiles(home, (file) => {
    if (!file.profiles[name]) return false;
    delete file.profiles[name];
    if (file.defaultProfile === name) file.defaultProfile = Object.keys(file.profiles)[0];
    return true;
  });
}

/** The named profile, or the default one when no name is given; undefined when none exists. */
export async function findProfile(home: string, name?: string): Promise<Profile | undefined> {
  const file = await readProfiles(home);
  if (name) {
    const p = file.profiles[name];
    if (!p) {
      const known = Object.keys(file.profiles);
      throw new UsageError(`No profile named '${name}'.`, {
        hint: known.length ? `Known profiles: ${known.join(", ")}.` : "Run `exo-cba setup` to create one.",
      });
    }
    return p;
  }
  return file.defaultProfile ? file.profiles[file.defaultProfile] : undefined;
}
