import { describe, expect, it } from "vitest";
import { createFaultInjector } from "../src/faults.js";

const sequence = (options: Parameters<typeof createFaultInjector>[0], n: number) => {
  const injector = createFaultInjector(options);
  return Array.from({ length: n }, () => injector.next());
};

describe("createFaultInjector", () => {
  it("never faults without rates", () => {
    expect(new Set(sequence({ seed: 3 }, 200))).toEqual(new Set(["none"]));
  });

  it("is deterministic for a seed and differs between seeds", () => {
    const options = { seed: 42, errorRate: 0.3, dropRate: 0.1 };
    expect(sequence(options, 100)).toEqual(sequence(options, 100));
    expect(sequence({ ...options, seed: 43 }, 100)).not.toEqual(sequence(options, 100));
  });

  it("produces 503, 504 and drops at roughly the configured rates", () => {
    const decisions = sequence({ seed: 5, errorRate: 0.2, dropRate: 0.1 }, 5000);
    const count = (d: string) => decisions.filter((x) => x === d).length;
    expect(count("drop") / 5000).toBeGreaterThan(0.08);
    expect(count("drop") / 5000).toBeLessThan(0.12);
    expect((count("503") + count("504")) / 5000).toBeGreaterThan(0.17);
    expect((count("503") + count("504")) / 5000).toBeLessThan(0.23);
    expect(count("503")).toBeGreaterThan(300);
    expect(count("504")).toBeGreaterThan(300);
  });

  it("adds random 429s at their own rate beside the 503/504s", () => {
    const decisions = sequence({ seed: 9, errorRate: 0.02, throttleRate: 0.03 }, 10_000);
    const count = (d: string) => decisions.filter((x) => x === d).length;
    expect(count("429") / 10_000).toBeGreaterThan(0.025);
    expect(count("429") / 10_000).toBeLessThan(0.035);
    expect((count("503") + count("504")) / 10_000).toBeGreaterThan(0.015);
    expect((count("503") + count("504")) / 10_000).toBeLessThan(0.025);
    expect(() => createFaultInjector({ throttleRate: 2 })).toThrow(RangeError);
  });

  it("rate 1 always faults; services default to exchange", () => {
    const injector = createFaultInjector({ errorRate: 1 });
    expect(sequence({ errorRate: 1 }, 50).every((d) => d === "503" || d === "504")).toBe(true);
    expect(injector.appliesTo("exchange")).toBe(true);
    expect(injector.appliesTo("identity")).toBe(false);
    expect(createFaultInjector({ services: ["identity"] }).appliesTo("identity")).toBe(true);
    injector.next();
    expect(injector.decided).toBe(1);
  });

  it("refuses rates outside 0..1", () => {
    expect(() => createFaultInjector({ errorRate: 1.5 })).toThrow(RangeError);
    expect(() => createFaultInjector({ dropRate: -0.1 })).toThrow(RangeError);
  });
});
