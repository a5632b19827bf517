/**
 * Certificate material from a file, whatever its form: DER or PEM certificates, PKCS#7 (.p7b) with a
 * chain, PEM with a (possibly encrypted) private key, or a PFX. Every failure is a UsageError that
 * names the file.
 */
import type { KeyObject } from "node:crypto";
import { UsageError } from "../errors.js";
import { MAX_CERTIFICATE_FILE_BYTES, readFileCapped } from "../util/fs.js";
import { Asn1FormatError, child, children, decode, encoded, int, type Node, OID, oid } from "./asn1.js";
import { parseCertificate } from "./inspect.js";
import { readPrivateKey } from "./keys.js";
import { looksLikePem, parsePemBlocks } from "./pem.js";
import { parsePfx } from "./pfx.js";
import type { ParsedCertificate } from "./types.js";

export interface CertificateMaterial {
  /** DER of every certificate found, in file order. */
  certificates: Buffer[];
  key?: KeyObject;
  /** Friendly name carried by a PFX. */
  friendlyName?: string;
  kind: "pem" | "der" | "pkcs7" | "pfx";
}

export interface ReadOptions {
  password?: string;
  /** How to supply a password, for error hints (differs between commands). */
  passwordHint: string;
}

export async function readFileBytes(path: string): Promise<Buffer> {
  try {
    return await readFileCapped(path, MAX_CERTIFICATE_FILE_BYTES, "The file");
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(
      `Cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`,
    );
  }
}

export function readCertificateMaterial(
  data: Buffer,
  what: string,
  options: ReadOptions,
): CertificateMaterial {
  if (data.length === 0) throw new UsageError(`${what} is empty.`);
  if (looksLikePem(data)) return readPem(data.toString("utf8"), what, options);
  let node: Node;
  try {
    node = decode(data);
  } catch {
    throw new UsageError(`${what} is neither PEM nor DER: not a certificate, PKCS#7 or PFX file.`);
  }
  if (isPfx(node)) {
    const pfx = parsePfx(data, {
      password: options.password ?? "",
      what,
      passwordHint: options.passwordHint,
    });
    const material: CertificateMaterial = { certificates: pfx.certificates.map((c) => c.der), kind: "pfx" };
    if (pfx.keys.length > 1)
      throw new UsageError(`${what} holds ${pfx.keys.length} private keys; expected one.`);
    const key = pfx.keys[0];
    if (key) {
      material.key = key.key;
      const name = key.friendlyName ?? pfx.certificates.find((c) => c.friendlyName)?.friendlyName;
      if (name) material.friendlyName = name;
    }
    return material;
  }
  const pkcs7 = pkcs7Certificates(node);
  if (pkcs7) return { certificates: pkcs7, kind: "pkcs7" };
  parseCertificate(data); // throws a UsageError when it is not a certificate either
  return { certificates: [data], kind: "der" };
}

function readPem(text: string, what: string, options: ReadOptions): CertificateMaterial {
  const blocks = parsePemBlocks(text);
  const material: CertificateMaterial = { certificates: [], kind: "pem" };
  for (const block of blocks) {
    if (block.label === "CERTIFICATE" || block.label === "X509 CERTIFICATE")
      material.certificates.push(block.der);
    else if (block.label === "PKCS7") {
      let certs: Buffer[] | undefined;
      try {
        certs = pkcs7Certificates(decode(block.der));
      } catch {
        certs = undefined;
      }
      if (!certs) throw new UsageError(`The PKCS7 block in ${what} is not readable.`);
      material.certificates.push(...certs);
    } else if (block.label.endsWith("PRIVATE KEY")) {
      if (material.key) throw new UsageError(`${what} holds more than one private key; expected one.`);
      material.key = readPrivateKey(block.text, {
        ...(options.password !== undefined ? { password: options.password } : {}),
        what,
        passwordHint: options.passwordHint,
      });
    }
  }
  if (blocks.length === 0) throw new UsageError(`${what} has no PEM blocks.`);
  return material;
}

function isPfx(node: Node): boolean {
  try {
    return int(child(node, 0)) === 3 && oid(child(child(node, 1), 0)) === OID.data;
  } catch {
    return false;
  }
}

/** Certificates of a PKCS#7 SignedData (a .p7b "certs-only" bundle), or undefined if it is not one. */
function pkcs7Certificates(node: Node): Buffer[] | undefined {
  try {
    if (oid(child(node, 0)) !== OID.signedData) return undefined;
  } catch {
    return undefined;
  }
  try {
    const signedData = child(child(node, 1), 0);
    const certSet = children(signedData).find((c) => c.idBlock.tagClass === 3 && c.idBlock.tagNumber === 0);
    return certSet ? children(certSet).map((c) => encoded(c)) : [];
  } catch (error) {
    if (error instanceof Asn1FormatError) return undefined;
    throw error;
  }
}

export interface LeafAndChain {
  leaf: Buffer;
  parsed: ParsedCertificate;
  chain: Buffer[];
}

/**
 * Pick the certificate that goes with a key (`keyIds` says which public keys we hold) and order
 * the rest as its issuer chain. Returns undefined when no certificate matches any key.
 */
export function pickLeaf(
  certificates: Buffer[],
  hasKey: (keyId: string) => boolean,
): LeafAndChain | undefined {
  const parsed = certificates.map((der) => ({ der, info: parseCertificate(der) }));
  const leaf = parsed.find((p) => hasKey(p.info.keyId));
  if (!leaf) return undefined;
  const chain: Buffer[] = [];
  let current = leaf.info;
  const used = new Set([leaf]);
  for (;;) {
    if (current.selfSigned) break;
    const issuer = parsed.find((p) => !used.has(p) && p.info.subject === current.issuer);
    if (!issuer) break;
    used.add(issuer);
    chain.push(issuer.der);
    current = issuer.info;
  }
  return { leaf: leaf.der, parsed: leaf.info, chain };
}
