import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject, randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { fileExists, writeFileAtomic } from "../fs.js";
import type { AccessTokenClaims } from "../types.js";
import { b64url, decodeJwt, signJwt, verifyJwtSignature } from "./jwt.js";

/** Clock skew allowed on `nbf`/`exp` of tokens the emulator verifies (Entra allows minutes). */
export const TOKEN_SKEW_SECONDS = 300;

/**
 * The emulator's token signing key (RS256), published at the jwks_uri. Persisted in the state dir
 * so tokens issued before a restart still verify after it.
 */
export class TokenIssuer {
  readonly kid: string;
  private readonly publicKey: KeyObject;

  private constructor(private readonly privateKey: KeyObject) {
    this.publicKey = createPublicKey(privateKey);
    const der = this.publicKey.export({ type: "spki", format: "der" });
    this.kid = b64url(der.subarray(der.length - 20));
  }

  static async open(stateDir: string | undefined): Promise<TokenIssuer> {
    // Off the main thread, so it overlaps with the TLS key generation.
    const fresh = async () => (await promisify(generateKeyPair)("rsa", { modulusLength: 2048 })).privateKey;
    if (!stateDir) return new TokenIssuer(await fresh());
    const file = join(stateDir, "token-signing-key.pem");
    if (await fileExists(file)) return new TokenIssuer(createPrivateKey(await readFile(file, "utf8")));
    const key = await fresh();
    await writeFileAtomic(file, key.export({ type: "pkcs8", format: "pem" }) as string, { mode: 0o600 });
    return new TokenIssuer(key);
  }

  sign(payload: Record<string, unknown>): string {
    return signJwt({ typ: "JWT", alg: "RS256", kid: this.kid, x5t: this.kid }, payload, this.privateKey);
  }

  /** JWKS document for `jwks_uri`. */
  jwks(): { keys: Array<Record<string, unknown>> } {
    const jwk = this.publicKey.export({ format: "jwk" });
    return { keys: [{ kty: "RSA", use: "sig", kid: this.kid, x5t: this.kid, n: jwk.n, e: jwk.e }] };
  }

  /** The payload of a JWS this issuer signed (any kind), or null when the signature is not ours. */
  verifySignature(token: string): Record<string, unknown> | null {
    const jwt = decodeJwt(token);
    if (jwt?.header.alg !== "RS256" || jwt.header.kid !== this.kid) return null;
    return verifyJwtSignature(jwt, this.publicKey) ? jwt.payload : null;
  }

  /**
   * Claims of an access token this emulator issued, when the signature is ours and it is within its
   * lifetime at `nowSeconds`; null otherwise. The audience is the caller's to check.
   */
  verify(token: string, nowSeconds: number): AccessTokenClaims | null {
    const jwt = decodeJwt(token);
    if (jwt?.header.alg !== "RS256" || jwt.header.kid !== this.kid) return null;
    if (!verifyJwtSignature(jwt, this.publicKey)) return null;
    const c = jwt.payload as unknown as AccessTokenClaims;
    if (typeof c.exp !== "number" || c.exp <= nowSeconds) return null;
    if (typeof c.nbf === "number" && c.nbf > nowSeconds + TOKEN_SKEW_SECONDS) return null;
    if (typeof c.aud !== "string" || typeof c.tid !== "string" || typeof c.oid !== "string") return null;
    return c;
  }
}

/** A unique token id (`uti`), like Entra's 22-character base64url value. */
export const newUti = () => randomBytes(16).toString("base64url").slice(0, 22);
