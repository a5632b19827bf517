import { describe, expect, it } from "vitest";
import {
  AppThrottle,
  CONCURRENCY_RETRY_AFTER_SECONDS,
  DEFAULT_RATE_LIMIT,
} from "../../src/exchange/throttle.js";

describe("AppThrottle", () => {
  it("lets everything through without options and counts down the default limit", () => {
    const t = new AppThrottle();
    const first = t.admit("app", 0, undefined);
    const second = t.admit("app", 0, undefined);
    expect(first.allowed && second.allowed).toBe(true);
    if (second.allowed) {
      expect(second.limit).toBe(DEFAULT_RATE_LIMIT);
      expect(second.remaining).toBe(DEFAULT_RATE_LIMIT - 2);
    }
  });

  it("token bucket: burst, then refusal with the exact fractional wait, then refill", () => {
    const t = new AppThrottle();
    const options = { ratePerSecond: 4, burst: 2 };
    expect(t.admit("app", 1000, options).allowed).toBe(true);
    expect(t.admit("app", 1000, options).allowed).toBe(true);
    const refused = t.admit("app", 1000, options);
    expect(refused).toMatchObject({ allowed: false, reason: "rate", retryAfterSeconds: 0.25 });
    // after 100 ms, 0.4 tokens are back: 0.15 s more are needed
    expect(t.admit("app", 1100, options)).toMatchObject({ allowed: false, retryAfterSeconds: 0.15 });
    expect(t.admit("app", 1250, options).allowed).toBe(true);
    // other apps have their own bucket
    expect(t.admit("other", 1250, options).allowed).toBe(true);
  });

  it("concurrency cap: refuses while the slots are taken, admits after release", () => {
    const t = new AppThrottle();
    const options = { concurrency: 2 };
    const a = t.admit("app", 0, options);
    const b = t.admit("app", 0, options);
    expect(t.admit("app", 0, options)).toMatchObject({
      allowed: false,
      reason: "concurrency",
      retryAfterSeconds: CONCURRENCY_RETRY_AFTER_SECONDS,
    });
    if (a.allowed) {
      a.release();
      a.release(); // idempotent: must not free two slots
    }
    expect(t.admit("app", 0, options).allowed).toBe(true);
    expect(t.admit("app", 0, options).allowed).toBe(false);
    expect(b.allowed).toBe(true);
  });
});
