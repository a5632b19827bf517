import { describe, expect, it } from "vitest";
import { normalizeRow, parseByteQuantifiedSize } from "./normalize.js";

describe("normalizeRow", () => {
  it("drops type annotations and adds byte counts next to size strings", () => {
    const wire = {
      DisplayName: "Adele",
      "EmailAddresses@odata.type": "#Collection(String)",
      EmailAddresses: ["SMTP:adele@contoso.com"],
      "ExchangeGuid@data.type": "System.Guid",
      "ExchangeGuid@odata.type": "#Guid",
      ExchangeGuid: "2be9c5b1-0000-0000-0000-000000000000",
      TotalItemSize: "1.2 GB (1,288,490,189 bytes)",
      ProhibitSendQuota: "Unlimited",
      Nested: { "X@odata.type": "#Int16", X: 3, Size: "256 KB (262,144 bytes)" },
    };
    expect(normalizeRow(wire)).toEqual({
      DisplayName: "Adele",
      EmailAddresses: ["SMTP:adele@contoso.com"],
      ExchangeGuid: "2be9c5b1-0000-0000-0000-000000000000",
      TotalItemSize: "1.2 GB (1,288,490,189 bytes)",
      TotalItemSizeBytes: 1_288_490_189,
      ProhibitSendQuota: "Unlimited",
      Nested: { X: 3, Size: "256 KB (262,144 bytes)", SizeBytes: 262_144 },
    });
  });

  it("parses sizes only when the bytes part is there", () => {
    expect(parseByteQuantifiedSize("3.322 KB (3,402 bytes)")).toBe(3402);
    expect(parseByteQuantifiedSize("0 B (0 bytes)")).toBe(0);
    expect(parseByteQuantifiedSize("Unlimited")).toBeUndefined();
    expect(parseByteQuantifiedSize(12)).toBeUndefined();
  });
});

/** The semantics before plans: a regex per size string, decisions per key per row. The reference for the plan path. */
function referenceRow(row: Record<string, unknown>): Record<string, unknown> {
  const SIZE = /\(([\d,]+) bytes\)\s*$/;
  const size = (v: unknown) => {
    if (typeof v !== "string" || !v.endsWith(" bytes)")) return undefined;
    const m = v.match(SIZE);
    return m?.[1] ? Number(m[1].replace(/,/g, "")) : undefined;
  };
  const value = (v: unknown): unknown => {
    if (v === null || typeof v !== "object") return v;
    if (Array.isArray(v)) return v.some((x) => x !== null && typeof x === "object") ? v.map(value) : v;
    return referenceRow(v as Record<string, unknown>);
  };
  const out: Record<string, unknown> = {};
  for (const key in row) {
    if (key.includes("@") && (key.endsWith("@odata.type") || key.endsWith("@data.type"))) continue;
    const v = row[key];
    if (typeof v === "string") {
      out[key] = v;
      const bytes = size(v);
      if (bytes !== undefined && !(`${key}Bytes` in row)) out[`${key}Bytes`] = bytes;
    } else out[key] = value(v);
  }
  return out;
}

describe("normalizeRow with per-shape plans", () => {
  // Deterministic pseudo-random rows: shapes that repeat, change, reorder, nest; sizes well- and ill-formed.
  let seed = 42;
  const rand = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const sizes = [
    "1.2 GB (1,288,490,189 bytes)",
    "0 B (0 bytes)",
    "Unlimited",
    "3 KB (3,402 bytes) ",
    "(,,, bytes)",
    "( bytes)",
    "x(12 bytes)",
    "12 bytes)",
    "99 PB (99,999,999,999,999,999,999 bytes)",
    "١٢ (١٢ bytes)",
    "5 B (5 bytes)",
    "",
  ];
  const values = (depth: number): unknown =>
    pick([
      () => pick(sizes),
      () => Math.floor(rand() * 1000),
      () => rand() < 0.5,
      () => null,
      () => ["a", pick(sizes)],
      () => (depth > 1 ? "leaf" : [{ "X@odata.type": "#Int32", X: 1, S: pick(sizes) }, "s"]),
      () => (depth > 1 ? pick(sizes) : row(depth + 1)),
    ])();
  const keyPool = [
    "Name",
    "TotalItemSize",
    "TotalItemSizeBytes",
    "Quota",
    "Quota@odata.type",
    "Guid@data.type",
    "Guid",
    "1",
    "Odd@x",
    "QuotaBytes@odata.type",
  ];
  function row(depth = 0): Record<string, unknown> {
    const r: Record<string, unknown> = {};
    const n = 1 + Math.floor(rand() * keyPool.length);
    for (let i = 0; i < n; i++) r[pick(keyPool)] = values(depth);
    return r;
  }

  it("gives exactly the old output (keys, order, values) on 3,000 varied rows", () => {
    const shared = row();
    const rows: Record<string, unknown>[] = [];
    for (let i = 0; i < 3000; i++) {
      if (rand() < 0.5) {
        // the common case: the same shape again, new values
        const again: Record<string, unknown> = {};
        for (const key of Object.keys(shared)) again[key] = values(0);
        rows.push(again);
      } else rows.push(row());
    }
    for (const r of rows) {
      const got = normalizeRow(r);
      const want = referenceRow(r);
      // Same keys in the same order with the same values (what ndjson/CSV output and callers see).
      expect(JSON.stringify(got)).toBe(JSON.stringify(want));
      // Plain objects, also from the compiled plans (built by a constructor): lodash.isPlainObject, structuredClone…
      expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
      expect(Object.getOwnPropertyNames(got)).toEqual(Object.keys(want));
    }
  });

  it("parses the byte count of a size string without a regex, as the old one did", () => {
    for (const s of sizes) expect(parseByteQuantifiedSize(s)).toEqual(referenceRow({ S: s }).SBytes);
  });
});
