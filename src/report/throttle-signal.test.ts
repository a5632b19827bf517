import { describe, expect, it } from "vitest";
import { isThrottleNotice, ThrottleSignal } from "./throttle-signal.js";

describe("ThrottleSignal", () => {
  it("routes a connection-wide retry notice to the call it happened in, across awaits", async () => {
    const signal = new ThrottleSignal();
    const hits: string[] = [];
    const call = (name: string, throttled: boolean) =>
      signal.run({ onThrottle: () => hits.push(name) }, async () => {
        await new Promise((r) => setTimeout(r, 1));
        if (throttled) signal.onRetry({ attempt: 1, delayMs: 0, reason: "throttled (HTTP 429)" } as never);
        await new Promise((r) => setImmediate(r));
      });
    await Promise.all([call("a", false), call("b", true), call("c", false)]);
    expect(hits).toEqual(["b"]);
    expect(signal.throttled).toBe(1);
  });

  it("ignores retries that are not throttling and notices outside any call", () => {
    const signal = new ThrottleSignal();
    signal.onRetry({ reason: "service unavailable (HTTP 503)" });
    signal.onRetry({ reason: "throttled (HTTP 429)" });
    expect(signal.throttled).toBe(1);
    expect(isThrottleNotice({ status: 429 })).toBe(true);
    expect(isThrottleNotice({ reason: "connection failed (ECONNRESET)" })).toBe(false);
  });

  it("says to escalate the backoff only while faults are sustained over the recent calls, not for sparse ones", async () => {
    const signal = new ThrottleSignal();
    const completed = (n: number) =>
      Promise.all(Array.from({ length: n }, () => signal.run({ onThrottle: () => {} }, async () => {})));
    const fault = () => signal.onRetry({ reason: "service unavailable (HTTP 503)" });
    // 3 faults among 100 completed calls, spread out: sparse.
    for (let i = 0; i < 3; i++) {
      fault();
      await completed(33);
    }
    expect(signal.escalate()).toBe(false);
    // A backend that is down: every call fails.
    for (let i = 0; i < 12; i++) fault();
    expect(signal.escalate()).toBe(true);
    // 429s are throttling, judged by the limiter, not faults.
    const calm = new ThrottleSignal();
    for (let i = 0; i < 12; i++) calm.onRetry({ status: 429, reason: "throttled (HTTP 429)" });
    expect(calm.escalate()).toBe(false);
    // Recovered: completions push the faults out of the recent outcomes.
    await completed(60);
    expect(signal.escalate()).toBe(false);
  });

  it("frees the call's slot while the client sleeps before a retry, and takes it back first", async () => {
    const signal = new ThrottleSignal();
    const events: string[] = [];
    await signal.run(
      {
        onThrottle: () => events.push("throttle"),
        suspend: () => events.push("suspend"),
        resume: async () => {
          events.push("resume");
        },
      },
      async () => {
        await signal.sleep(5);
        events.push("retry sent");
      },
    );
    expect(events).toEqual(["suspend", "resume", "retry sent"]);
    // Outside a call (sign-in, connection set-up) it is a plain sleep.
    await signal.sleep(1);
    expect(events).toHaveLength(3);
  });

  it("takes the slot back even when the wait is aborted, so the slot count stays right", async () => {
    const signal = new ThrottleSignal();
    const events: string[] = [];
    const abort = new AbortController();
    const waiting = signal.run(
      {
        onThrottle: () => {},
        suspend: () => events.push("suspend"),
        resume: async () => {
          events.push("resume");
        },
      },
      () => signal.sleep(60_000, abort.signal),
    );
    abort.abort(new Error("interrupted"));
    await expect(waiting).rejects.toThrow("interrupted");
    expect(events).toEqual(["suspend", "resume"]);
  });
});
