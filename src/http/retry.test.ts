import { describe, expect, it } from "vitest";
import { TransientError } from "../errors.js";
import { backoffDelay, parseRetryAfter, RetryableError, retryableResponse, withRetry } from "./retry.js";

/** A fake clock whose sleep advances time instantly and records every wait asked for. */
function fakeClock(start = 1_700_000_000_000) {
  let t = start;
  const waits: number[] = [];
  return {
    now: () => t,
    sleep: async (ms: number) => {
      waits.push(ms);
      t += ms;
    },
    waits,
  };
}

describe("parseRetryAfter", () => {
  const now = Date.parse("2026-11-28T12:00:00Z");
  it("reads seconds, fractional seconds and HTTP dates", () => {
    expect(parseRetryAfter("3", now)).toBe(3000);
    expect(parseRetryAfter("0.25", now)).toBe(250);
    expect(parseRetryAfter("Sat, 28 Nov 2026 12:00:07 GMT", now)).toBe(7000);
  });
  it("ignores absent or garbage values and never goes negative", () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter("-1", now)).toBeUndefined();
    expect(parseRetryAfter("Sat, 28 Nov 2026 11:00:00 GMT", now)).toBe(0);
  });
});

describe("backoffDelay", () => {
  it("is full jitter under a doubling, capped ceiling", () => {
    expect(backoffDelay(0, { random: () => 0.5, baseDelayMs: 2000 })).toBe(1000);
    expect(backoffDelay(3, { random: () => 0.5, baseDelayMs: 2000 })).toBe(8000);
    expect(backoffDelay(10, { random: () => 0.999, baseDelayMs: 2000, maxDelayMs: 30_000 })).toBe(29_970);
    expect(backoffDelay(2, { random: () => 0 })).toBe(0);
  });

  it("keeps half the base ceiling for every retry while the caller says not to escalate, and doubles again when it does", () => {
    let escalate = false;
    const options = { random: () => 0.5, baseDelayMs: 2000, escalate: () => escalate };
    expect([0, 1, 2, 3].map((retry) => backoffDelay(retry, options))).toEqual([500, 500, 500, 500]);
    escalate = true;
    expect([0, 1, 2, 3].map((retry) => backoffDelay(retry, options))).toEqual([1000, 2000, 4000, 8000]);
  });
});

describe("retryableResponse", () => {
  it("retries 429 with its Retry-After, and 503/504", () => {
    const r = retryableResponse(429, { "retry-after": "1.5" }, "", 0);
    expect(r?.retryAfterMs).toBe(1500);
    expect(r?.httpStatus).toBe(429);
    expect(retryableResponse(503, {}, "", 0)).toBeInstanceOf(RetryableError);
    expect(retryableResponse(504, {}, "", 0)).toBeInstanceOf(RetryableError);
  });
  it("retries 400/500 only when the injected classifier names a transient reason in the body", () => {
    const classify = (body: string) => (body.includes("Busy") ? "BusyThing" : undefined);
    expect(retryableResponse(400, {}, '{"error":{"message":"Busy|busy"}}', 0, classify)?.message).toBe(
      "BusyThing (HTTP 400)",
    );
    expect(retryableResponse(500, {}, "…Busy…", 0, classify)).toBeDefined();
    expect(retryableResponse(400, {}, '{"error":{"message":"bad parameter"}}', 0, classify)).toBeUndefined();
    expect(retryableResponse(500, {}, "boom", 0, classify)).toBeUndefined();
    expect(retryableResponse(404, {}, "", 0, classify)).toBeUndefined();
    // Without a classifier only the status decides: the http layer knows no service's exception names.
    expect(retryableResponse(500, {}, "…StorageTransientException…", 0)).toBeUndefined();
  });
});

describe("withRetry", () => {
  it("waits exactly the Retry-After the server asked for, then succeeds", async () => {
    const clock = fakeClock();
    let calls = 0;
    const result = await withRetry(
      async () => {
        calls++;
        if (calls < 3) throw new RetryableError("throttled", { retryAfterMs: 2500, httpStatus: 429 });
        return "ok";
      },
      { ...clock, random: () => 0.5 },
    );
    expect(result).toBe("ok");
    expect(calls).toBe(3);
    expect(clock.waits).toEqual([2500, 2500]);
  });

  it("retries connection resets with jittered backoff", async () => {
    const clock = fakeClock();
    let calls = 0;
    await withRetry(
      async () => {
        calls++;
        if (calls < 3) throw Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
        return 1;
      },
      { ...clock, random: () => 0.5, baseDelayMs: 1000 },
    );
    expect(clock.waits).toEqual([500, 1000]);
  });

  it("fails fast on a non-retryable error", async () => {
    const clock = fakeClock();
    let calls = 0;
    const error = new Error("400 bad request");
    await expect(
      withRetry(async () => {
        calls++;
        throw error;
      }, clock),
    ).rejects.toBe(error);
    expect(calls).toBe(1);
    expect(clock.waits).toEqual([]);
  });

  it("gives up after maxAttempts with a TransientError that counts them", async () => {
    const clock = fakeClock();
    let calls = 0;
    const promise = withRetry(
      async () => {
        calls++;
        throw new RetryableError("service unavailable (HTTP 503)", { httpStatus: 503, requestId: "r-1" });
      },
      { ...clock, maxAttempts: 4, random: () => 0 },
    );
    const error = await promise.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as TransientError).attempts).toBe(4);
    expect((error as TransientError).exitCode).toBe(6);
    expect((error as TransientError).httpStatus).toBe(503);
    expect((error as TransientError).requestId).toBe("r-1");
    expect((error as Error).message).toMatch(/after 4 attempts.*503/);
    expect(calls).toBe(4);
    expect(clock.waits).toHaveLength(3);
  });

  it("gives up when the next wait would pass the deadline", async () => {
    const clock = fakeClock();
    let calls = 0;
    const error = await withRetry(
      async () => {
        calls++;
        throw new RetryableError("throttled", { retryAfterMs: 40_000 });
      },
      { ...clock, maxAttempts: 100, deadlineMs: 100_000 },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toMatch(/deadline/);
    // 0 → wait 40 s → 40 s → wait → 80 s; a third wait would end at 120 s > 100 s.
    expect(calls).toBe(3);
    expect(clock.waits).toEqual([40_000, 40_000]);
  });
});
