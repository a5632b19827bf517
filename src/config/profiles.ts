import { UsageError } from "../errors.js";
import { ensurePrivateDir, readTextIfExists, writeFileAtomic } from "../util/fs.js";
import { withFileLock } from "../util/lock.js";
import { homePaths } from "./home.js";

/**
 * A profile holds identifiers only — never a key, password or token (unlike peers that store whole
 * connection objects with secrets). The certificate is referenced by thumbprint in the local store.
 */
export interface Profile {
  name: string;
  organization: string;
  tenantId?: string;
  appId: string;
  appObjectId?: string;
  servicePrincipalId?: string;
  certificateThumbprint?: string;
  certificateFilePath?: string;
  /** O365Default when the file does not say. */
  environment: string;
  role?: string;
  /** Set while a rotation is under way or an old key is kept (`--keep-old`). */
  previousThumbprint?: string;
  /** keyId of the certificate's entry on the app, when known: lets the app remove it itself (removeKey). */
  certificateKeyId?: string;
  keepOldUntil?: string;
  /** Custom endpoints the profile was created against (emulator, proxies). */
  endpoints?: { authorityHost: string; graphEndpoint: string; exchangeEndpoint: string };
  /** The VB365 server of the usage report's backup side (docs/vb365.md); never a password. */
  vb365?: {
    server: string;
    username?: string;
    organization?: string;
    repositories?: string[];
    certificateFingerprint?: string;
    caFile?: string;
  };
  createdAt?: string;
  updatedAt?: string;
}

export interface ProfilesFile {
  defaultProfile?: string;
  profiles: Record<string, Profile>;
}

/*
 * The file is checked by hand rather than with a schema library: every command that connects reads it,
 * and loading one costs more start-up time than the whole check (docs/architecture.md, "Start-up").
 * Unknown keys are dropped, as a schema's parse would.
 */
const REQUIRED = ["name", "organization", "appId"] as const;
const NON_EMPTY = new Set<string>(["name", "organization"]);
const OPTIONAL = [
  "tenantId",
  "appObjectId",
  "servicePrincipalId",
  "certificateThumbprint",
  "certificateFilePath",
  "environment",
  "role",
  "previousThumbprint",
  "certificateKeyId",
  "keepOldUntil",
  "createdAt",
  "updatedAt",
] as const;
const ENDPOINTS = ["authorityHost", "graphEndpoint", "exchangeEndpoint"] as const;
const VB365_OPTIONAL = ["username", "organization", "certificateFingerprint", "caFile"] as const;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** The profile at `path` (e.g. `profiles.contoso`), or a description of what is wrong with it. */
function checkProfile(value: unknown, path: string): Profile | string {
  if (!isObject(value)) return `${path}: expected an object`;
  const out: Record<string, unknown> = {};
  for (const key of REQUIRED) {
    const v = value[key];
    if (typeof v !== "string") return `${path}.${key}: expected a string`;
    if (NON_EMPTY.has(key) && v.length === 0) return `${path}.${key}: must not be empty`;
    out[key] = v;
  }
  for (const key of OPTIONAL) {
    const v = value[key];
    if (v === undefined) continue;
    if (typeof v !== "string") return `${path}.${key}: expected a string`;
    out[key] = v;
  }
  out.environment ??= "O365Default";
  const endpoints = value.endpoints;
  if (endpoints !== undefined) {
    if (!isObject(endpoints)) return `${path}.endpoints: expected an object`;
    const e: Record<string, string> = {};
    for (const key of ENDPOINTS) {
      const v = endpoints[key];
      if (typeof v !== "string") return `${path}.endpoints.${key}: expected a string`;
      e[key] = v;
    }
    out.endpoints = e;
  }
  const vb365 = value.vb365;
  if (vb365 !== undefined) {
    if (!isObject(vb365)) return `${path}.vb365: expected an object`;
    if (typeof vb365.server !== "string") return `${path}.vb365.server: expected a string`;
    const v: Record<string, unknown> = { server: vb365.server };
    for (const key of VB365_OPTIONAL) {
      const x = vb365[key];
      if (x === undefined) continue;
      if (typeof x !== "string") return `${path}.vb365.${key}: expected a string`;
      v[key] = x;
    }
    const repositories = vb365.repositories;
    if (repositories !== undefined) {
      if (!Array.isArray(repositories) || repositories.some((r) => typeof r !== "string"))
        return `${path}.vb365.repositories: expected a list of strings`;
      v.repositories = [...repositories];
    }
    out.vb365 = v;
  }
  return out as unknown as Profile;
}

/** The profiles file's content, or a description of what is wrong with it. */
export function checkProfilesFile(json: unknown): ProfilesFile | string {
  if (!isObject(json)) return "expected an object";
  const file: ProfilesFile = { profiles: {} };
  if (json.defaultProfile !== undefined) {
    if (typeof json.defaultProfile !== "string") return "defaultProfile: expected a string";
    file.defaultProfile = json.defaultProfile;
  }
  if (json.profiles !== undefined) {
    if (!isObject(json.profiles)) return "profiles: expected an object";
    for (const [name, value] of Object.entries(json.profiles)) {
      if (name === "__proto__") return "profiles: no profile may be named __proto__";
      const profile = checkProfile(value, `profiles.${name}`);
      if (typeof profile === "string") return profile;
      file.profiles[name] = profile;
    }
  }
  return file;
}

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
  const parsed = checkProfilesFile(json);
  if (typeof parsed === "string") {
    throw new UsageError(`The profiles file ${path} is not in the expected shape: ${parsed}`);
  }
  return parsed;
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
