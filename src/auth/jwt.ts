/**
 * Read a JWT's claims without verifying it. Used only to *explain* failures (which role or permission a
 * token lacks) and to learn an opaque token's expiry — never to make a trust decision.
 */
export function decodeJwtClaims(token: string): Record<string, unknown> | undefined {
  const parts = token.split(".");
  if (parts.length !== 3 || !parts[1]) return undefined;
  try {
    const json = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8")) as unknown;
    return json !== null && typeof json === "object" && !Array.isArray(json)
      ? (json as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

export const base64url = (data: Uint8Array | string) => Buffer.from(data).toString("base64url");

/** The string-array claim `name` (`roles`, `wids`), empty when absent or malformed. */
export function stringArrayClaim(claims: Record<string, unknown> | undefined, name: string): string[] {
  const value = claims?.[name];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}
