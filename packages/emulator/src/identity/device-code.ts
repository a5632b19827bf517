import { randomBytes } from "node:crypto";

/**
 * Pending device-code sign-ins (RFC 8628 as Entra implements it). In memory only: a restart
 * forgets them, as an expired code would be forgotten.
 */
export interface DeviceCodeGrant {
  deviceCode: string;
  userCode: string;
  clientId: string;
  tenantId: string;
  /** the scope string as requested */
  scope: string;
  expiresAtMs: number;
  /** the user who approved it, once approved */
  approvedUserId?: string;
}

/** Lifetime of a device code (Entra: 15 minutes). */
export const DEVICE_CODE_LIFETIME_S = 900;
/**
 * Polling interval told to clients. Entra says 5 s; the emulator answers 1 s so that a manual
 * approval in a test does not cost five seconds per poll.
 */
export const DEVICE_CODE_INTERVAL_S = 1;

const USER_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

export class DeviceCodeStore {
  private readonly grants = new Map<string, DeviceCodeGrant>();

  create(
    input: Omit<DeviceCodeGrant, "deviceCode" | "userCode" | "expiresAtMs">,
    nowMs: number,
  ): DeviceCodeGrant {
    this.prune(nowMs);
    const bytes = randomBytes(9);
    const userCode = [...bytes].map((b) => USER_CODE_ALPHABET[b % USER_CODE_ALPHABET.length]).join("");
    const grant: DeviceCodeGrant = {
      ...input,
      deviceCode: randomBytes(48).toString("base64url"),
      userCode,
      expiresAtMs: nowMs + DEVICE_CODE_LIFETIME_S * 1000,
    };
    this.grants.set(grant.deviceCode, grant);
    return grant;
  }

  get(deviceCode: string): DeviceCodeGrant | undefined {
    return this.grants.get(deviceCode);
  }

  byUserCode(userCode: string): DeviceCodeGrant | undefined {
    const wanted = userCode.trim().toUpperCase();
    for (const g of this.grants.values()) if (g.userCode === wanted) return g;
    return undefined;
  }

  /** A code is redeemed once. */
  consume(deviceCode: string): void {
    this.grants.delete(deviceCode);
  }

  private prune(nowMs: number): void {
    for (const [k, g] of this.grants) if (g.expiresAtMs < nowMs - 60_000) this.grants.delete(k);
  }
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/** The page at verification_uri: enter the code, pick a seeded user, approve. */
export function deviceLoginPage(
  users: Array<{ userPrincipalName: string; displayName: string }>,
  message?: string,
): string {
  const options = users
    .map(
      (u) =>
        `<option value="${escapeHtml(u.userPrincipalName)}">${escapeHtml(u.userPrincipalName)} (${escapeHtml(u.displayName)})</option>`,
    )
    .join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>exo-cba emulator - device sign-in</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto}label{display:block;margin:1rem 0 .3rem}input,select,button{font-size:1rem;padding:.4rem}</style>
</head><body>
<h1>Sign in (emulator)</h1>
${message ? `<p role="status">${escapeHtml(message)}</p>` : ""}
<form method="post" action="/devicelogin">
<label for="user_code">Code</label><input id="user_code" name="user_code" autocomplete="off" required>
<label for="upn">Sign in as</label><select id="upn" name="upn">${options}</select>
<p><button type="submit">Approve</button></p>
</form>
</body></html>
`;
}
