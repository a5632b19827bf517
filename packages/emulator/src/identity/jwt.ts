import { constants, type KeyObject, sign, verify } from "node:crypto";

/** Minimal JWS compact-serialisation helpers (RS256 / PS256 only: what Entra and MSAL use). */

export const b64url = (data: Buffer | string) => Buffer.from(data).toString("base64url");

export interface DecodedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

/** Split and parse a compact JWS; null when it is not three base64url JSON-object parts. */
export function decodeJwt(token: string): DecodedJwt | null {
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  const [h, p, s] = parts as [string, string, string];
  if (!/^[A-Za-z0-9_-]+$/.test(h) || !/^[A-Za-z0-9_-]+$/.test(p) || !/^[A-Za-z0-9_-]*$/.test(s)) return null;
  try {
    const header = JSON.parse(Buffer.from(h, "base64url").toString("utf8")) as unknown;
    const payload = JSON.parse(Buffer.from(p, "base64url").toString("utf8")) as unknown;
    if (!isObject(header) || !isObject(payload)) return null;
    return { header, payload, signingInput: `${h}.${p}`, signature: Buffer.from(s, "base64url") };
  } catch {
    return null;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

export type JwsAlgorithm = "RS256" | "PS256";

/** PSS with salt = hash length (32), as RFC 7518 requires and MSAL signs. */
const pss = (key: KeyObject) => ({
  key,
  padding: constants.RSA_PKCS1_PSS_PADDING,
  saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
});

export function signJwt(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  privateKey: KeyObject,
): string {
  const alg = header.alg as JwsAlgorithm;
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const signature =
    alg === "PS256"
      ? sign("sha256", Buffer.from(input), pss(privateKey))
      : sign("sha256", Buffer.from(input), privateKey);
  return `${input}.${b64url(signature)}`;
}

/** Verify a decoded JWS with an RSA public key; false for any algorithm other than RS256/PS256. */
export function verifyJwtSignature(jwt: DecodedJwt, publicKey: KeyObject): boolean {
  const alg = jwt.header.alg;
  const data = Buffer.from(jwt.signingInput);
  try {
    if (alg === "RS256") return verify("sha256", data, publicKey, jwt.signature);
    if (alg === "PS256") {
      return verify(
        "sha256",
        data,
        { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
        jwt.signature,
      );
    }
  } catch {
    return false;
  }
  return false;
}
