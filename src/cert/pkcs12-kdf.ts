import { createHash } from "node:crypto";

/**
 * The PKCS#12 key derivation (RFC 7292 appendix B.2). WebCrypto and node:crypto do not offer it,
 * yet it derives the PFX MAC key and the legacy 3DES key and IV that Windows Server 2016 needs.
 */
export const Pkcs12KeyPurpose = { key: 1, iv: 2, mac: 3 } as const;

const BLOCK_BYTES: Record<string, number> = { sha1: 64, sha256: 64, sha384: 128, sha512: 128 };

/** Password as PKCS#12 wants it: BMPString (UTF-16 big-endian) with two terminating zero bytes. */
export function bmpPassword(password: string): Buffer {
  const out = Buffer.alloc(password.length * 2 + 2);
  for (let i = 0; i < password.length; i++) out.writeUInt16BE(password.charCodeAt(i), i * 2);
  return out;
}

export function pkcs12Kdf(
  hash: "sha1" | "sha256" | "sha384" | "sha512",
  password: string,
  salt: Uint8Array,
  iterations: number,
  purpose: number,
  length: number,
): Buffer {
  const v = BLOCK_BYTES[hash]!;
  const pass = bmpPassword(password);
  const fill = (src: Uint8Array) => {
    const n = src.length === 0 ? 0 : v * Math.ceil(src.length / v);
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = src[i % src.length]!;
    return out;
  };
  const d = Buffer.alloc(v, purpose);
  const i = Buffer.concat([fill(salt), fill(pass)]);
  const chunks: Buffer[] = [];
  let produced = 0;
  while (produced < length) {
    let a = createHash(hash).update(d).update(i).digest();
    for (let r = 1; r < iterations; r++) a = createHash(hash).update(a).digest();
    chunks.push(a);
    produced += a.length;
    if (produced >= length) break;
    // I_j = (I_j + B + 1) mod 2^(8v) for each v-byte block of I, B being A repeated to v bytes.
    const b = fill(a).subarray(0, v);
    for (let j = 0; j < i.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = i[j + k]! + b[k]! + carry;
        i[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(chunks).subarray(0, length);
}
