/**
 * Password-based encryption for PKCS#8 and PKCS#12: PBES2 (PBKDF2 + AES-CBC, the modern default)
 * and the PKCS#12 PBE with 3DES that Windows Server 2016 and older still require.
 * Everything runs on node:crypto (OpenSSL); WebCrypto has neither 3DES nor the PKCS#12 KDF.
 */
import { createCipheriv, createDecipheriv, pbkdf2Sync, randomBytes } from "node:crypto";
import {
  Asn1FormatError,
  child,
  children,
  decode,
  int,
  intNode,
  type Node,
  nullNode,
  OID,
  octetNode,
  octets,
  oid,
  oidNode,
  seq,
  toDer,
} from "./asn1.js";
import { Pkcs12KeyPurpose, pkcs12Kdf } from "./pkcs12-kdf.js";
import { rc2CbcDecrypt } from "./rc2.js";

/** Decryption failed the way a wrong password makes it fail (bad padding). */
export class BadPasswordError extends Error {}
/** An algorithm we do not implement (e.g. PBES2 with an unusual cipher). */
export class UnsupportedAlgorithmError extends Error {}

export interface Encrypted {
  algorithm: Node;
  ciphertext: Buffer;
}

const CBC_CIPHERS: Record<string, { name: string; keyLength: number }> = {
  [OID.aes128Cbc]: { name: "aes-128-cbc", keyLength: 16 },
  [OID.aes192Cbc]: { name: "aes-192-cbc", keyLength: 24 },
  [OID.aes256Cbc]: { name: "aes-256-cbc", keyLength: 32 },
  [OID.desEde3Cbc]: { name: "des-ede3-cbc", keyLength: 24 },
};
const PRFS: Record<string, string> = {
  [OID.hmacWithSha1]: "sha1",
  [OID.hmacWithSha256]: "sha256",
  [OID.hmacWithSha384]: "sha384",
  [OID.hmacWithSha512]: "sha512",
};

/** PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC. The password enters PBKDF2 as UTF-8, as OpenSSL does. */
export function encryptPbes2(plain: Uint8Array, password: string, iterations: number): Encrypted {
  const salt = randomBytes(16);
  const iv = randomBytes(16);
  const key = pbkdf2Sync(Buffer.from(password, "utf8"), salt, iterations, 32, "sha256");
  const cipher = createCipheriv("aes-256-cbc", key, iv);
  const ciphertext = Buffer.concat([cipher.update(plain), cipher.final()]);
  const algorithm = seq(
    oidNode(OID.pbes2),
    seq(
      seq(
        oidNode(OID.pbkdf2),
        seq(octetNode(salt), intNode(iterations), seq(oidNode(OID.hmacWithSha256), nullNode())),
      ),
      seq(oidNode(OID.aes256Cbc), octetNode(iv)),
    ),
  );
  return { algorithm, ciphertext };
}

/** pbeWithSHAAnd3-KeyTripleDES-CBC (RFC 7292 appendix C): key and IV from the PKCS#12 KDF with SHA-1. */
export function encryptPkcs12TripleDes(plain: Uint8Array, password: string, iterations: number): Encrypted {
  const salt = randomBytes(8);
  const key = pkcs12Kdf("sha1", password, salt, iterations, Pkcs12KeyPurpose.key, 24);
  const iv = pkcs12Kdf("sha1", password, salt, iterations, Pkcs12KeyPurpose.iv, 8);
  const cipher = createCipheriv("des-ede3-cbc", key, iv);
  const ciphertext = Buffer.concat([cipher.update(plain), cipher.final()]);
  return {
    algorithm: seq(oidNode(OID.pbeSha1And3DesCbc), seq(octetNode(salt), intNode(iterations))),
    ciphertext,
  };
}

/** Decrypt data encrypted under an AlgorithmIdentifier we understand. */
export function decryptWith(algorithm: Node, ciphertext: Uint8Array, password: string): Buffer {
  const algOid = oid(child(algorithm, 0, "encryption algorithm"));
  const params = children(algorithm, "encryption algorithm")[1];
  if (algOid === OID.pbes2) {
    const kdf = child(params, 0, "PBES2 parameters");
    const scheme = child(params, 1, "PBES2 parameters");
    if (oid(child(kdf, 0)) !== OID.pbkdf2) throw new UnsupportedAlgorithmError("PBES2 without PBKDF2");
    const kdfParams = children(child(kdf, 1, "PBKDF2 parameters"));
    const salt = octets(kdfParams[0]);
    const iterations = int(kdfParams[1]);
    let prf = "sha1";
    for (const extra of kdfParams.slice(2)) {
      // keyLength (INTEGER) is optional; the PRF is an AlgorithmIdentifier SEQUENCE.
      if (extra.idBlock.tagNumber === 16) {
        const prfOid = oid(child(extra, 0));
        const name = PRFS[prfOid];
        if (!name) throw new UnsupportedAlgorithmError(`PBKDF2 PRF ${prfOid}`);
        prf = name;
      }
    }
    const cipherOid = oid(child(scheme, 0));
    const cipherSpec = CBC_CIPHERS[cipherOid];
    if (!cipherSpec) throw new UnsupportedAlgorithmError(`PBES2 cipher ${cipherOid}`);
    const iv = octets(child(scheme, 1));
    const key = pbkdf2Sync(Buffer.from(password, "utf8"), salt, iterations, cipherSpec.keyLength, prf);
    return decipher(cipherSpec.name, key, iv, ciphertext);
  }
  if (algOid === OID.pbeSha1And3DesCbc) {
    const salt = octets(child(params, 0, "PBE parameters"));
    const iterations = int(child(params, 1, "PBE parameters"));
    const key = pkcs12Kdf("sha1", password, salt, iterations, Pkcs12KeyPurpose.key, 24);
    const iv = pkcs12Kdf("sha1", password, salt, iterations, Pkcs12KeyPurpose.iv, 8);
    return decipher("des-ede3-cbc", key, iv, ciphertext);
  }
  if (algOid === OID.pbeSha1And40BitRc2Cbc || algOid === OID.pbeSha1And128BitRc2Cbc) {
    // OpenSSL 1.x wrote certificate bags this way by default; decryption only.
    const bytes = algOid === OID.pbeSha1And40BitRc2Cbc ? 5 : 16;
    const salt = octets(child(params, 0, "PBE parameters"));
    const iterations = int(child(params, 1, "PBE parameters"));
    const key = pkcs12Kdf("sha1", password, salt, iterations, Pkcs12KeyPurpose.key, bytes);
    const iv = pkcs12Kdf("sha1", password, salt, iterations, Pkcs12KeyPurpose.iv, 8);
    try {
      return rc2CbcDecrypt(key, bytes * 8, iv, ciphertext);
    } catch {
      throw new BadPasswordError("bad decrypt");
    }
  }
  throw new UnsupportedAlgorithmError(algOid);
}

function decipher(name: string, key: Buffer, iv: Buffer, ciphertext: Uint8Array): Buffer {
  try {
    const d = createDecipheriv(name, key, iv);
    return Buffer.concat([d.update(ciphertext), d.final()]);
  } catch (error) {
    if (/bad decrypt|wrong final block length/i.test((error as Error).message)) {
      throw new BadPasswordError("bad decrypt");
    }
    throw error;
  }
}

/** EncryptedPrivateKeyInfo (RFC 5958) around a PKCS#8 PrivateKeyInfo. */
export function encryptPrivateKeyInfo(
  pkcs8Der: Uint8Array,
  password: string,
  options: { iterations: number; legacy?: boolean },
): Buffer {
  const e = options.legacy
    ? encryptPkcs12TripleDes(pkcs8Der, password, options.iterations)
    : encryptPbes2(pkcs8Der, password, options.iterations);
  return toDer(seq(e.algorithm, octetNode(e.ciphertext)));
}

export function decryptPrivateKeyInfo(der: Uint8Array, password: string): Buffer {
  let node: Node;
  try {
    node = decode(der);
  } catch (error) {
    throw new Asn1FormatError(`encrypted private key: ${(error as Error).message}`);
  }
  return decryptWith(child(node, 0, "encrypted private key"), octets(child(node, 1)), password);
}
