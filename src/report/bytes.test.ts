import { describe, expect, it } from "vitest";
import { formatBinaryBytes, formatInteger, parseByteQuantity, parseCount } from "./bytes.js";

describe("parseByteQuantity", () => {
  it("takes the exact byte figure from ByteQuantifiedSize strings, not the rounded prefix", () => {
    expect(parseByteQuantity("3.322 KB (3,402 bytes)")).toBe(3402);
    expect(parseByteQuantity("99 GB (106,300,440,576 bytes)")).toBe(106300440576);
    expect(parseByteQuantity("0 B (0 bytes)")).toBe(0);
    expect(parseByteQuantity("1 B (1 byte)")).toBe(1);
  });
  it("accepts plain numbers and numeric strings (client-normalised rows, OData Int64)", () => {
    expect(parseByteQuantity(5)).toBe(5);
    expect(parseByteQuantity("123")).toBe(123);
  });
  it("returns null for Unlimited, garbage, negatives and absent values", () => {
    expect(parseByteQuantity("Unlimited")).toBeNull();
    expect(parseByteQuantity("about 3 KB")).toBeNull();
    expect(parseByteQuantity(-1)).toBeNull();
    expect(parseByteQuantity(undefined)).toBeNull();
    expect(parseByteQuantity(null)).toBeNull();
  });
});

describe("parseCount", () => {
  it("parses numbers and numeric strings", () => {
    expect(parseCount(7)).toBe(7);
    expect(parseCount(" 42 ")).toBe(42);
    expect(parseCount("x")).toBeNull();
  });
});

describe("formatBinaryBytes", () => {
  it("uses 1024-based units", () => {
    expect(formatBinaryBytes(512)).toBe("512 B");
    expect(formatBinaryBytes(1536)).toBe("1.50 KiB");
    expect(formatBinaryBytes(3 * 1024 ** 3)).toBe("3.00 GiB");
    expect(formatBinaryBytes(-2048)).toBe("-2.00 KiB");
  });
  it("formats integers with thousands separators independent of locale", () => {
    expect(formatInteger(1234567)).toBe("1,234,567");
  });
});
