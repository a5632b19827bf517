import { createPrivateKey, createPublicKey, type KeyObject, type webcrypto } from "node:crypto";
import { UsageError } from "../errors.js";
import { keyIdOfSpki } from "./inspect.js";
import { toPem } from "./pem.js";

export const MIN_RSA_BITS = 2048;
export const ALLOWED_RSA_BITS = [2048, 3072, 4096] as const;

/** WebCrypto parameters for RSA PKCS#1 v1.5 with SHA-256: what Entra accepts and what we sign certs/CSRs with. */
export const RSA_SHA256 = {
  name: "RSASSA-PKCS1-v1_5",
  hash: "SHA-256",
  publicExponent: new Uint8Array([1, 0, 1]),
} as const;

export interface GeneratedKeyPair {
  /** For @peculiar/x509 (signing certificates and CSRs). */
  cryptoKeys: webcrypto.CryptoKeyPair;
  privateKey: KeyObject;
}

/** RSA key pair from Node's native WebCrypto (OpenSSL), never a pure-JS generator. */
export async function generateRsaKeyPair(bits: number): Promise<GeneratedKeyPair> {
  if (!ALLOWED_RSA_BITS.includes(bits as (typeof ALLOWED_RSA_BITS)[number])) {
    throw new UsageError(`RSA key size ${bits} is not allowed.`, {
      hint: `Use one of ${ALLOWED_RSA_BITS.join(", ")} (Entra needs at least ${MIN_RSA_BITS}; 2048 is what the portal guide uses).`,
    });
  }
  const cryptoKeys = (await globalThis.crypto.subtle.generateKey(
    { ...RSA_SHA256, modulusLength: bits },
    true,
    ["sign", "verify"],
  )) as webcrypto.CryptoKeyPair;
  const pkcs8 = Buffer.from(await globalThis.crypto.subtle.exportKey("pkcs8", cryptoKeys.privateKey));
  const privateKey = createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" });
  return { cryptoKeys, privateKey };
}

export const pkcs8Der = (key: KeyObject): Buffer => key.export({ type: "pkcs8", format: "der" });
export const pkcs8Pem = (key: KeyObject): string => toPem("PRIVATE KEY", pkcs8Der(key));
/**
 * `credential` with its key as `privateKey`, and as `privateKeyPem` exported only when something reads it:
 * signing needs the KeyObject alone, and each export costs a PKCS#8 encoding on every connection.
 */
export function withPrivateKey<T extends object>(
  credential: T,
  key: KeyObject,
): T & { privateKey: KeyObject; privateKeyPem: string } {
  let pem: string | undefined;
  return Object.defineProperties(credential, {
    privateKey: { value: key, enumerable: true },
    privateKeyPem: { get: () => (pem ??= pkcs8Pem(key)), enumerable: true },
  }) as T & { privateKey: KeyObject; privateKeyPem: string };
}

export const spkiDer = (key: KeyObject): Buffer =>
  createPublicKey(key).export({ type: "spki", format: "der" }) as Buffer;
export const keyIdOf = (key: KeyObject): string => keyIdOfSpki(spkiDer(key));

/**
 * Encrypted PKCS#8 PEM. Our own PBES2 writer instead of KeyObject.export({cipher}) because Node fixes
 * PBKDF2 at 2048 iterations; the store uses far more so that a weak passphrase costs an attacker more.
 */
export async function encryptedPkcs8Pem(
  key: KeyObject,
  passphrase: string,
  iterations = 200_000,
): Promise<string> {
  // Loaded on demand: only writing an encrypted key needs the ASN.1 encoder.
  const { encryptPrivateKeyInfo } = await import("./pbe.js");
  return toPem("ENCRYPTED PRIVATE KEY", encryptPrivateKeyInfo(pkcs8Der(key), passphrase, { iterations }));
}

/**
 * Read a private key (PEM or DER; PKCS#8, encrypted PKCS#8 or PKCS#1). `what` names its source in errors.
 * A missing or wrong password is the user's to fix, so both are UsageErrors that say how.
 */
export function readPrivateKey(
  key: string | Buffer,
  options: { password?: string; what: string; passwordHint: string },
): KeyObject {
  const isPem = typeof key === "string" || key.subarray(0, 64).toString("latin1").includes("-----BEGIN");
  const encrypted = isPem && /ENCRYPTED/.test(typeof key === "string" ? key : key.toString("latin1"));
  if (encrypted && (options.password === undefined || options.password === "")) {
    throw new UsageError(`The private key in ${options.what} is encrypted and no password was given.`, {
      hint: options.passwordHint,
    });
  }
  try {
    if (isPem) {
      return createPrivateKey(
        options.password === undefined
          ? { key, format: "pem" }
          : { key, format: "pem", passphrase: options.password },
      );
    }
    return createPrivateKey({ key: key as Buffer, format: "der", type: "pkcs8" });
  } catch (error) {
    if (encrypted) {
      throw new UsageError(`Cannot decrypt the private key in ${options.what}: wrong password?`, {
        hint: options.passwordHint,
        cause: error,
      });
    }
    throw new UsageError(`The private key in ${options.what} is not readable: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** Entra only accepts RSA keys, and nothing below 2048 bits. */
export function assertUsableKey(details: { keyAlgorithm: string; keySize: number }, what: string): void {
  if (details.keyAlgorithm !== "RSA") {
    throw new UsageError(`${what} has a ${details.keyAlgorithm} key; Microsoft Entra ID only accepts RSA.`, {
      hint: "Create an RSA certificate, e.g. `exo-cba cert new --dns-name NAME`.",
    });
  }
  if (details.keySize < MIN_RSA_BITS) {
    throw new UsageError(
      `${what} has an RSA key of ${details.keySize} bits; at least ${MIN_RSA_BITS} are needed.`,
      {
        hint: "Create a new certificate with `exo-cba cert new` (2048 bits by default).",
      },
    );
  }
}

export function rsaBits(key: KeyObject): { keyAlgorithm: string; keySize: number } {
  const type = key.asymmetricKeyType ?? "unknown";
  return {
    keyAlgorithm: type === "rsa" ? "RSA" : type.toUpperCase(),
    keySize: type === "rsa" ? (key.asymmetricKeyDetails?.modulusLength ?? 0) : 0,
  };
}
