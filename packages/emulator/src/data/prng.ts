/**
 * Counter-based pseudo-random numbers: every value is a pure function of (seed, index, field), so a
 * generated tenant needs no per-mailbox state and any mailbox can be regenerated in O(1).
 * Not cryptographic; only deterministic and well mixed.
 */

/** 32-bit avalanche mix (lowbias32 by Chris Wellons): every input bit flips ~half the output bits. */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Uniform 32-bit unsigned integer for (seed, index, field). */
export function hash32(seed: number, index: number, field: number): number {
  let h = mix32((seed ^ 0x9e3779b9) >>> 0);
  h = mix32((h ^ index) >>> 0);
  // Indices above 2^32 are not expected, but fold the high part in so they stay distinct.
  if (index > 0xffffffff) h = mix32((h ^ Math.floor(index / 0x100000000)) >>> 0);
  h = mix32((h ^ Math.imul(field + 1, 0x85ebca6b)) >>> 0);
  return h;
}

/** Uniform number in [0, 1). */
export function uniform(seed: number, index: number, field: number): number {
  return hash32(seed, index, field) / 0x100000000;
}

/** Uniform number in [min, max). */
export function between(seed: number, index: number, field: number, min: number, max: number): number {
  return min + (max - min) * uniform(seed, index, field);
}

/** Standard normal deviate (Box–Muller over two counter draws: fields `field` and `field + 0.5` mapped apart). */
export function normal(seed: number, index: number, field: number): number {
  const u1 = (hash32(seed, index, field) + 0.5) / 0x100000000;
  const u2 = hash32(seed, index, field + 0x4000) / 0x100000000;
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** Log-normal value with the given median and shape (sigma of the underlying normal). */
export function logNormal(seed: number, index: number, field: number, median: number, sigma: number): number {
  return median * Math.exp(sigma * normal(seed, index, field));
}

/** Modular inverse of an odd number mod 2^32 (Newton iteration; 5 steps give 32 correct bits). */
function inverseOdd32(a: number): number {
  let x = a;
  for (let i = 0; i < 5; i++) x = Math.imul(x, 2 - Math.imul(a, x));
  return x >>> 0;
}

const M1 = 0x2c1b3c6d;
const M2 = 0x297a2d39;
const M1_INV = inverseOdd32(M1);
const M2_INV = inverseOdd32(M2);

/**
 * A keyed bijection on 32-bit integers. GUIDs embed `permute32(index)` so an identity given as a GUID
 * maps back to its index without any lookup table, yet consecutive mailboxes get unrelated-looking GUIDs.
 */
export function permute32(value: number, key: number): number {
  let x = (value ^ key) >>> 0;
  x = Math.imul(x, M1) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, M2) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  return (x ^ mix32(key)) >>> 0;
}

/** Inverse of `permute32` for the same key. */
export function unpermute32(value: number, key: number): number {
  let x = (value ^ mix32(key)) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0; // x ^= x >>> 16 is its own inverse for shifts >= 16
  x = Math.imul(x, M2_INV) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, M1_INV) >>> 0;
  return (x ^ key) >>> 0;
}

/** Byte → two lowercase hex digits; GUIDs are built for every generated row, so avoid toString(16). */
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

function hex16(n: number): string {
  return HEX[(n >>> 8) & 0xff]! + HEX[n & 0xff]!;
}

function hex32(n: number): string {
  return hex16(n >>> 16) + hex16(n & 0xffff);
}

/**
 * Deterministic RFC 4122 version-4-shaped GUID for (seed, index, field). Its last 8 hex digits are
 * `permute32(index)` under a key derived from (seed, field), so `guidIndex` can recover the index.
 */
export function deterministicGuid(seed: number, index: number, field: number): string {
  const a = hash32(seed, index, field * 4 + 1);
  const b = hash32(seed, index, field * 4 + 2);
  const c = hash32(seed, index, field * 4 + 3);
  const tail = permute32(index, guidKey(seed, field));
  const version = 0x4000 | (b & 0x0fff);
  const variant = 0x8000 | (c & 0x3fff);
  return `${hex32(a)}-${hex16(b >>> 16)}-${hex16(version)}-${hex16(variant)}-${hex16(c >>> 16)}${hex32(tail)}`;
}

/** The index a GUID made by `deterministicGuid(seed, ·, field)` was generated for (caller must verify). */
export function guidIndex(seed: number, field: number, guid: string): number {
  return unpermute32(Number.parseInt(guid.slice(-8), 16), guidKey(seed, field));
}

function guidKey(seed: number, field: number): number {
  return hash32(seed, 0x7fffffff, field * 4);
}
