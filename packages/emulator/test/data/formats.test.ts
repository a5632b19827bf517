import { describe, expect, it } from "vitest";
import {
  formatByteQuantifiedSize,
  formatExchangeDateTime,
  parseByteQuantifiedSize,
} from "../../src/data/formats.js";
import { deterministicGuid, guidIndex, permute32, unpermute32 } from "../../src/data/prng.js";

describe("formatByteQuantifiedSize", () => {
  it("matches the captured real strings", () => {
    // Values from the reference capture (docs/exchange-rest.md §3).
    expect(formatByteQuantifiedSize(106_300_440_576)).toBe("99 GB (106,300,440,576 bytes)");
    expect(formatByteQuantifiedSize(262_144)).toBe("256 KB (262,144 bytes)");
    expect(formatByteQuantifiedSize(36_700_160)).toBe("35 MB (36,700,160 bytes)");
    expect(formatByteQuantifiedSize(3_402)).toBe("3.322 KB (3,402 bytes)");
  });
  it("handles small and zero sizes", () => {
    expect(formatByteQuantifiedSize(0)).toBe("0 B (0 bytes)");
    expect(formatByteQuantifiedSize(1023)).toBe("1023 B (1,023 bytes)");
    expect(formatByteQuantifiedSize(1_324_567_890)).toBe("1.234 GB (1,324,567,890 bytes)");
  });
  it("parses back to the exact bytes and refuses Unlimited", () => {
    for (const bytes of [0, 1, 999, 1024, 1_324_567_890, 107_374_182_400, 9_007_199_254_740_991]) {
      expect(parseByteQuantifiedSize(formatByteQuantifiedSize(bytes))).toBe(bytes);
    }
    expect(parseByteQuantifiedSize("Unlimited")).toBeUndefined();
    expect(() => formatByteQuantifiedSize(-1)).toThrow(RangeError);
  });
});

describe("formatExchangeDateTime", () => {
  it("uses seven fractional digits and an explicit offset", () => {
    expect(formatExchangeDateTime("2022-09-21T08:07:47.000Z")).toBe("2022-09-21T08:07:47.0000000+00:00");
    expect(formatExchangeDateTime("2022-09-21T08:07:47.123Z")).toBe("2022-09-21T08:07:47.1230000+00:00");
    expect(formatExchangeDateTime(null)).toBeNull();
  });
});

describe("GUIDs that encode their index", () => {
  it("permute32 is a bijection undone by unpermute32", () => {
    for (const key of [0, 1, 0xdeadbeef]) {
      for (const value of [0, 1, 2, 999_999, 0xffffffff]) {
        expect(unpermute32(permute32(value, key), key)).toBe(value);
      }
    }
  });
  it("recovers the index and looks like a version-4 GUID", () => {
    const guid = deterministicGuid(3, 123_456, 21);
    expect(guid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(guidIndex(3, 21, guid)).toBe(123_456);
    expect(deterministicGuid(3, 123_457, 21)).not.toBe(guid);
    expect(deterministicGuid(4, 123_456, 21)).not.toBe(guid);
  });
});
