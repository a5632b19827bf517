/**
 * Small helpers over asn1js for the PKCS#8 / PKCS#12 / PKCS#7 structures we read and write.
 * Reading accepts BER (Windows writes constructed, indefinite-length octet strings in PFX files).
 */
import * as asn1js from "asn1js";

export type Node = asn1js.AsnType;

export class Asn1FormatError extends Error {}

export function decode(data: Uint8Array): Node {
  const parsed = asn1js.fromBER(data);
  if (parsed.offset === -1) throw new Asn1FormatError(`not ASN.1: ${parsed.result.error}`);
  return parsed.result;
}

/** The elements of a SEQUENCE, SET or context-tagged constructed node. */
export function children(node: Node | undefined, what = "structure"): Node[] {
  const block = (node as asn1js.Constructed | undefined)?.valueBlock as { value?: unknown } | undefined;
  if (!node || !block || !Array.isArray(block.value)) throw new Asn1FormatError(`malformed ${what}`);
  return block.value as Node[];
}

export function child(node: Node | undefined, index: number, what = "structure"): Node {
  const c = children(node, what)[index];
  if (!c) throw new Asn1FormatError(`malformed ${what}`);
  return c;
}

export function oid(node: Node | undefined): string {
  if (!(node instanceof asn1js.ObjectIdentifier)) throw new Asn1FormatError("expected an OBJECT IDENTIFIER");
  return node.valueBlock.toString();
}

export function int(node: Node | undefined): number {
  if (!(node instanceof asn1js.Integer)) throw new Asn1FormatError("expected an INTEGER");
  return node.valueBlock.valueDec;
}

/** Content bytes of an OCTET STRING, primitive or constructed, universal or implicitly tagged. */
export function octets(node: Node | undefined): Buffer {
  if (!node) throw new Asn1FormatError("expected an OCTET STRING");
  if (!node.idBlock.isConstructed) {
    // Primitive: the content bytes. (asn1js may also have decoded them as ASN.1 into `value`; ignore that.)
    return Buffer.from((node as asn1js.Primitive).valueBlock.valueHexView);
  }
  const parts = (node as asn1js.Constructed).valueBlock.value as Node[] | undefined;
  return Buffer.concat((parts ?? []).map((c) => octets(c)));
}

export function toDer(node: Node): Buffer {
  return Buffer.from(node.toBER(false));
}

// ---- builders ----
export const seq = (...value: Node[]) => new asn1js.Sequence({ value });
export const set = (...value: Node[]) => new asn1js.Set({ value });
export const oidNode = (value: string) => new asn1js.ObjectIdentifier({ value });
export const intNode = (value: number) => new asn1js.Integer({ value });
export const octetNode = (data: Uint8Array) => new asn1js.OctetString({ valueHex: data });
export const nullNode = () => new asn1js.Null();
export const bmpNode = (value: string) => new asn1js.BmpString({ value });
/** `[0] EXPLICIT` wrapper. */
export const explicit0 = (inner: Node) =>
  new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [inner] });
/** `[0] IMPLICIT OCTET STRING`. */
export const implicit0Octets = (data: Uint8Array) =>
  new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 }, valueHex: data });
/** An already-encoded element, embedded as is. */
export const raw = (der: Uint8Array) => decode(der);

export const OID = {
  data: "1.2.840.113549.1.7.1",
  signedData: "1.2.840.113549.1.7.2",
  encryptedData: "1.2.840.113549.1.7.6",
  pbes2: "1.2.840.113549.1.5.13",
  pbkdf2: "1.2.840.113549.1.5.12",
  hmacWithSha1: "1.2.840.113549.2.7",
  hmacWithSha256: "1.2.840.113549.2.9",
  hmacWithSha384: "1.2.840.113549.2.10",
  hmacWithSha512: "1.2.840.113549.2.11",
  aes128Cbc: "2.16.840.1.101.3.4.1.2",
  aes192Cbc: "2.16.840.1.101.3.4.1.22",
  aes256Cbc: "2.16.840.1.101.3.4.1.42",
  desEde3Cbc: "1.2.840.113549.3.7",
  pbeSha1And3DesCbc: "1.2.840.113549.1.12.1.3",
  pbeSha1And40BitRc2Cbc: "1.2.840.113549.1.12.1.6",
  pbeSha1And128BitRc2Cbc: "1.2.840.113549.1.12.1.5",
  sha1: "1.3.14.3.2.26",
  sha256: "2.16.840.1.101.3.4.2.1",
  sha384: "2.16.840.1.101.3.4.2.2",
  sha512: "2.16.840.1.101.3.4.2.3",
  keyBag: "1.2.840.113549.1.12.10.1.1",
  pkcs8ShroudedKeyBag: "1.2.840.113549.1.12.10.1.2",
  certBag: "1.2.840.113549.1.12.10.1.3",
  x509Certificate: "1.2.840.113549.1.9.22.1",
  friendlyName: "1.2.840.113549.1.9.20",
  localKeyId: "1.2.840.113549.1.9.21",
} as const;

/** The bytes a decoded node was read from (exact, even when the input was BER). */
export function encoded(node: Node): Buffer {
  const view = (node as { valueBeforeDecodeView?: Uint8Array }).valueBeforeDecodeView;
  return view && view.length > 0 ? Buffer.from(view) : toDer(node);
}
