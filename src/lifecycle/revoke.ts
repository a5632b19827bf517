import type { Profile } from "../config/profiles.js";
import { normalizeThumbprint } from "../config/validate.js";
import { UsageError } from "../errors.js";
import { findKey, keepEntry } from "../graph/key-credentials.js";
import { type Logger, nullLogger } from "../log/log.js";
import type { KeyCredentialsApi } from "./app-keys.js";

/**
 * `exo-cba cert revoke THUMBPRINT`: take a certificate off the app (a machine was lost, a rotation kept
 * the old key). Admin path: PATCH the collection without that key. Refuses to remove the last key or the
 * profile's current certificate unless the caller confirmed it (`confirmedBreaking`), because either
 * stops every job that uses the app.
 */

export interface RevokeInput {
  api: KeyCredentialsApi;
  applicationObjectId: string;
  thumbprint: string;
  /** The profile using this app, if any: its current/previous thumbprints are checked and kept in step. */
  profile?: Profile;
  saveProfile?: (profile: Profile) => Promise<void>;
  /** The user agreed to break the profile's own certificate / remove the last key. */
  confirmedBreaking?: boolean;
  logger?: Logger;
}

export interface RevokeResult {
  thumbprint: string;
  removed: boolean;
  keyId?: string;
  remainingKeys: number;
  /** What this breaks, when it breaks something the user confirmed. */
  warnings: string[];
}

/** Why removing this key would break things (empty when it is safe). */
export function revokeDangers(keysBefore: number, thumbprint: string, profile?: Profile): string[] {
  const out: string[] = [];
  if (profile?.certificateThumbprint && normalizeThumbprint(profile.certificateThumbprint) === thumbprint) {
    out.push(
      `${thumbprint} is the certificate profile '${profile.name}' signs in with; its jobs will fail until it is rotated.`,
    );
  }
  if (keysBefore === 1)
    out.push(
      "It is the app's last key: nothing will be able to sign in as the app until a new one is added.",
    );
  return out;
}

export async function revokeCertificate(input: RevokeInput): Promise<RevokeResult> {
  const log = input.logger ?? nullLogger;
  const thumbprint = normalizeThumbprint(input.thumbprint);
  const keys = await input.api.getKeyCredentials(input.applicationObjectId);
  const key = findKey(keys, thumbprint);
  if (!key) {
    return { thumbprint, removed: false, remainingKeys: keys.length, warnings: [] };
  }
  const dangers = revokeDangers(keys.length, thumbprint, input.profile);
  if (dangers.length && !input.confirmedBreaking) {
    throw new UsageError(`Refusing to remove ${thumbprint}: ${dangers.join(" ")}`, {
      hint: "Rotate first (`exo-cba cert rotate`), or confirm with --yes if the machine holding it is compromised.",
    });
  }
  if (!key.keyId)
    throw new UsageError(`The key for ${thumbprint} has no keyId; remove it in the Entra admin center.`);
  await input.api.setKeyCredentials(
    input.applicationObjectId,
    keys.filter((k) => k.keyId !== key.keyId).map(keepEntry),
  );
  log.event("cert.revoke", { thumbprint, keyId: key.keyId });
  const profile = input.profile;
  if (
    profile?.previousThumbprint &&
    normalizeThumbprint(profile.previousThumbprint) === thumbprint &&
    input.saveProfile
  ) {
    const updated = { ...profile };
    delete updated.previousThumbprint;
    delete updated.keepOldUntil;
    await input.saveProfile(updated);
  }
  return { thumbprint, removed: true, keyId: key.keyId, remainingKeys: keys.length - 1, warnings: dangers };
}
