/**
 * PKCS#12 (PFX) files, written and read on node:crypto.
 *
 * Written: AES-256-CBC / PBKDF2-HMAC-SHA256 bags with an HMAC-SHA256 MAC (Windows 10 1709 / Server 2019
 * and later, OpenSSL 3, .NET), or with `legacy` 3DES bags and an HMAC-SHA1 MAC for Windows Server
 * 2016 and older. The leaf's key and certificate carry friendlyName and localKeyID (Windows pairs
 * them by localKeyID). Iteration counts stay well inside .NET's loader limits (300 000).
 * Read: the same, plus unencrypted key bags and RC2-40 certificate bags (OpenSSL 1.x defaults).
 */
import {
  createHash,
  createHmac,
  createPrivateKey,
  type KeyObject,
  randomBytes,
  timingSafeEqual,
} from "node:crypto";
import * as asn1js from "asn1js";
import { UsageError } from "../errors.js";
import {
  Asn1FormatError,
  bmpNode,
  child,
  children,
  decode,
  encoded,
  explicit0,
  implicit0Octets,
  int,
  intNode,
  type Node,
  nullNode,
  OID,
  octetNode,
  octets,
  oid,
  oidNode,
  raw,
  seq,
  set,
  toDer,
} from "./asn1.js";
import { pkcs8Der } from "./keys.js";
import {
  BadPasswordError,
  decryptPrivateKeyInfo,
  decryptWith,
  encryptPbes2,
  encryptPkcs12TripleDes,
  encryptPrivateKeyInfo,
  UnsupportedAlgorithmError,
} from "./pbe.js";
import { Pkcs12KeyPurpose, pkcs12Kdf } from "./pkcs12-kdf.js";

/** Microsoft's CSP-name bag attribute; Exchange app-only auth wants a CSP key, not a CNG one. */
const MS_CSP_NAME_OID = "1.3.6.1.4.1.311.17.1";
const MS_ENHANCED_RSA_AES_CSP = "Microsoft Enhanced RSA and AES Cryptographic Provider";

const MODERN_ITERATIONS = 10_000;
const LEGACY_ITERATIONS = 2_000;

type MacHash = "sha1" | "sha256" | "sha384" | "sha512";
const MAC_HASH_OIDS: Record<string, MacHash> = {
  [OID.sha1]: "sha1",
  [OID.sha256]: "sha256",
  [OID.sha384]: "sha384",
  [OID.sha512]: "sha512",
};
const HASH_BYTES: Record<MacHash, number> = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 };

export interface PfxContents {
  certificateDer: Buffer;
  chainDer?: Buffer[];
  privateKey: KeyObject;
  password: string;
  friendlyName?: string;
  legacy?: boolean;
}

export function buildPfx(input: PfxContents): Buffer {
  const legacy = Boolean(input.legacy);
  const iterations = legacy ? LEGACY_ITERATIONS : MODERN_ITERATIONS;
  const localKeyId = createHash("sha1").update(input.certificateDer).digest();
  const leafAttributes = [seq(oidNode(OID.localKeyId), set(octetNode(localKeyId)))];
  if (input.friendlyName)
    leafAttributes.unshift(seq(oidNode(OID.friendlyName), set(bmpNode(input.friendlyName))));

  const certBag = (der: Uint8Array, attributes: Node[]) => {
    const value = explicit0(seq(oidNode(OID.x509Certificate), explicit0(octetNode(der))));
    return attributes.length
      ? seq(oidNode(OID.certBag), value, set(...attributes))
      : seq(oidNode(OID.certBag), value);
  };
  const certContents = toDer(
    seq(
      certBag(input.certificateDer, leafAttributes),
      ...(input.chainDer ?? []).map((der) => certBag(der, [])),
    ),
  );
  const encryptedCerts = legacy
    ? encryptPkcs12TripleDes(certContents, input.password, iterations)
    : encryptPbes2(certContents, input.password, iterations);
  const certsInfo = seq(
    oidNode(OID.encryptedData),
    explicit0(
      seq(
        intNode(0),
        seq(oidNode(OID.data), encryptedCerts.algorithm, implicit0Octets(encryptedCerts.ciphertext)),
      ),
    ),
  );

  const shrouded = encryptPrivateKeyInfo(pkcs8Der(input.privateKey), input.password, { iterations, legacy });
  const keyAttributes = [
    ...leafAttributes,
    seq(oidNode(MS_CSP_NAME_OID), set(bmpNode(MS_ENHANCED_RSA_AES_CSP))),
  ];
  const keyContents = toDer(
    seq(seq(oidNode(OID.pkcs8ShroudedKeyBag), explicit0(raw(shrouded)), set(...keyAttributes))),
  );
  const keyInfo = seq(oidNode(OID.data), explicit0(octetNode(keyContents)));

  const authSafe = toDer(seq(certsInfo, keyInfo));
  const macHash: MacHash = legacy ? "sha1" : "sha256";
  const macSalt = randomBytes(legacy ? 8 : 16);
  const mac = computeMac(macHash, input.password, macSalt, iterations, authSafe);
  const macData = seq(
    seq(seq(oidNode(legacy ? OID.sha1 : OID.sha256), nullNode()), octetNode(mac)),
    octetNode(macSalt),
    intNode(iterations),
  );
  return toDer(seq(intNode(3), seq(oidNode(OID.data), explicit0(octetNode(authSafe))), macData));
}

function computeMac(hash: MacHash, password: string, salt: Uint8Array, iterations: number, data: Uint8Array) {
  const key = pkcs12Kdf(hash, password, salt, iterations, Pkcs12KeyPurpose.mac, HASH_BYTES[hash]);
  return createHmac(hash, key).update(data).digest();
}

// ---------------------------------------------------------------------------------------------

export interface PfxCertificate {
  der: Buffer;
  friendlyName?: string;
  localKeyId?: Buffer;
}
export interface PfxKey {
  key: KeyObject;
  friendlyName?: string;
  localKeyId?: Buffer;
}
export interface ParsedPfx {
  certificates: PfxCertificate[];
  keys: PfxKey[];
}

/** Read a PFX; every failure is a UsageError naming the file (`what`) and what to do. */
export function parsePfx(
  data: Uint8Array,
  options: { password: string; what: string; passwordHint: string },
): ParsedPfx {
  try {
    return readPfx(data, options.password);
  } catch (error) {
    if (error instanceof BadPasswordError) {
      throw new UsageError(`Wrong password for ${options.what} (the PFX integrity check failed).`, {
        hint: options.passwordHint,
      });
    }
    if (error instanceof UnsupportedAlgorithmError) {
      throw new UsageError(`${options.what} uses an encryption this tool does not read: ${error.message}.`, {
        hint: "Re-export it with AES-256 (Windows: Export-PfxCertificate -CryptoAlgorithmOption AES256_SHA256; OpenSSL 3: the default of `openssl pkcs12 -export`).",
      });
    }
    if (error instanceof UsageError) throw error;
    throw new UsageError(`${options.what} is not a readable PFX/PKCS#12 file: ${(error as Error).message}`, {
      hint: "Check that the file is a complete .pfx/.p12 (not a .cer or a PEM).",
    });
  }
}

function readPfx(data: Uint8Array, password: string): ParsedPfx {
  const pfx = decode(data);
  if (int(child(pfx, 0, "PFX")) !== 3) throw new Asn1FormatError("unsupported PFX version");
  const authSafeInfo = child(pfx, 1, "PFX");
  if (oid(child(authSafeInfo, 0)) !== OID.data) {
    throw new UnsupportedAlgorithmError("public-key integrity mode (signed PFX)");
  }
  const authSafe = octets(child(child(authSafeInfo, 1), 0));
  const macData = children(pfx)[2];
  if (macData) verifyMac(macData, password, authSafe);

  const result: ParsedPfx = { certificates: [], keys: [] };
  for (const info of children(decode(authSafe), "AuthenticatedSafe")) {
    const type = oid(child(info, 0));
    const content = child(child(info, 1), 0);
    let safeContents: Buffer;
    if (type === OID.data) safeContents = octets(content);
    else if (type === OID.encryptedData) {
      const eci = child(content, 1, "EncryptedData");
      safeContents = decryptWith(child(eci, 1), octets(child(eci, 2)), password);
    } else continue;
    let bags: Node[];
    try {
      bags = children(decode(safeContents), "SafeContents");
    } catch {
      // Garbage after a decrypt that happened to pad correctly: the password was wrong.
      throw new BadPasswordError("undecodable SafeContents");
    }
    for (const bag of bags) readBag(bag, password, result);
  }
  return result;
}

function verifyMac(macData: Node, password: string, authSafe: Buffer) {
  const digestInfo = child(macData, 0, "MacData");
  const hashOid = oid(child(child(digestInfo, 0), 0));
  const hash = MAC_HASH_OIDS[hashOid];
  if (!hash) throw new UnsupportedAlgorithmError(`MAC digest ${hashOid}`);
  const expected = octets(child(digestInfo, 1));
  const salt = octets(child(macData, 1));
  const iterations = children(macData)[2] ? int(children(macData)[2]) : 1;
  const actual = computeMac(hash, password, salt, iterations, authSafe);
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    throw new BadPasswordError("MAC mismatch");
  }
}

function readBag(bag: Node, password: string, out: ParsedPfx) {
  const bagId = oid(child(bag, 0, "SafeBag"));
  const value = child(child(bag, 1), 0);
  const attributes = children(bag)[2];
  let friendlyName: string | undefined;
  let localKeyId: Buffer | undefined;
  if (attributes) {
    for (const attribute of children(attributes)) {
      const attrId = oid(child(attribute, 0));
      const first = child(child(attribute, 1), 0);
      if (attrId === OID.friendlyName && first instanceof asn1js.BmpString)
        friendlyName = first.valueBlock.value;
      if (attrId === OID.localKeyId) localKeyId = octets(first);
    }
  }
  const meta = { ...(friendlyName ? { friendlyName } : {}), ...(localKeyId ? { localKeyId } : {}) };
  if (bagId === OID.certBag) {
    if (oid(child(value, 0)) !== OID.x509Certificate) return;
    out.certificates.push({ der: octets(child(child(value, 1), 0)), ...meta });
  } else if (bagId === OID.keyBag || bagId === OID.pkcs8ShroudedKeyBag) {
    const pkcs8 = bagId === OID.keyBag ? encoded(value) : decryptPrivateKeyInfo(encoded(value), password);
    let key: KeyObject;
    try {
      key = createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" });
    } catch {
      if (bagId === OID.pkcs8ShroudedKeyBag) throw new BadPasswordError("undecodable key");
      throw new Asn1FormatError("unreadable key bag");
    }
    out.keys.push({ key, ...meta });
  }
}
