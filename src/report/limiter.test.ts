import { describe, expect, it } from "vitest";
import { AimdLimiter, Semaphore } from "./limiter.js";

const tick = () => new Promise((r) => setImmediate(r));

describe("Semaphore", () => {
  it("never lets more than its capacity through and hands slots over in order", async () => {
    const sem = new Semaphore(2);
    const order: number[] = [];
    const r1 = await sem.acquire();
    const r2 = await sem.acquire();
    const p3 = sem.acquire().then((r) => {
      order.push(3);
      return r;
    });
    const p4 = sem.acquire().then((r) => {
      order.push(4);
      return r;
    });
    await tick();
    expect(order).toEqual([]);
    r1();
    r1(); // a double release must not create a slot
    await tick();
    expect(order).toEqual([3]);
    r2();
    await tick();
    expect(order).toEqual([3, 4]);
    (await p3)();
    (await p4)();
  });
});

describe("AimdLimiter", () => {
  it("starts at max and blocks the (max+1)th request", async () => {
    const lim = new AimdLimiter({ max: 3 });
    const t = [await lim.acquire(), await lim.acquire(), await lim.acquire()];
    let fourth = false;
    const p = lim.acquire().then((x) => {
      fourth = true;
      return x;
    });
    await tick();
    expect(fourth).toBe(false);
    lim.release(t[0]!, true);
    await p;
    expect(fourth).toBe(true);
    expect(lim.inFlight).toBe(3);
  });

  it("halves once per window on congestion, ignoring signals from requests issued before the cut", async () => {
    const lim = new AimdLimiter({ max: 8, minThrottles: 1 });
    const tickets = await Promise.all(Array.from({ length: 8 }, () => lim.acquire()));
    lim.congestion(tickets[0]!);
    expect(lim.limit).toBe(4);
    // the other seven requests of the same burst also saw a 429: no further cut
    for (const t of tickets.slice(1)) lim.congestion(t);
    expect(lim.limit).toBe(4);
    expect(lim.decreases).toBe(1);
    for (const t of tickets) lim.release(t, false);
    // a request started after the cut that is throttled again cuts again
    const later = await lim.acquire();
    lim.congestion(later);
    expect(lim.limit).toBe(2);
    lim.release(later, false);
  });

  it("never goes below min and recovers additively (+1 per window of successes) up to max", async () => {
    const lim = new AimdLimiter({ max: 4, initial: 1, minThrottles: 1 });
    const t = await lim.acquire();
    lim.congestion(t);
    expect(lim.limit).toBe(1);
    lim.release(t, true); // 1 + 1/1
    expect(lim.limit).toBe(2);
    const a = await lim.acquire();
    const b = await lim.acquire();
    lim.release(a, true); // 2 + 1/2
    lim.release(b, true); // 2.5 + 1/2.5
    expect(lim.limit).toBeCloseTo(2.9, 10);
    for (let i = 0; i < 20; i++) lim.release(await lim.acquire(), true);
    expect(lim.limit).toBe(4);
  });

  it("admits waiting requests when the window grows", async () => {
    const lim = new AimdLimiter({ max: 4, initial: 1 });
    const first = await lim.acquire();
    const waiting = [lim.acquire(), lim.acquire()];
    lim.release(first, true); // window 2: both waiters fit
    const [x, y] = await Promise.all(waiting);
    expect(lim.inFlight).toBe(2);
    lim.release(x!, true);
    lim.release(y!, true);
  });
});

describe("AimdLimiter pause (Retry-After)", () => {
  it("starts no new request until the server's Retry-After has passed, on the injected clock", async () => {
    let now = 1000;
    const sleeps: number[] = [];
    const lim = new AimdLimiter({
      max: 4,
      minThrottles: 1,
      pauseThresholdMs: 50,
      now: () => now,
      sleep: async (ms) => {
        sleeps.push(ms);
        now += ms;
      },
    });
    const t = await lim.acquire();
    lim.congestion(t, 250);
    expect(lim.limit).toBe(2);
    const next = await lim.acquire();
    expect(sleeps).toEqual([250]);
    expect(now).toBe(1250);
    // a later, shorter Retry-After does not shorten the pause
    lim.congestion(next, 100);
    lim.congestion(t, 60);
    lim.release(t, false);
    lim.release(next, false);
    const third = await lim.acquire();
    expect(sleeps).toEqual([250, 100]);
    expect(now).toBe(1350);
    lim.release(third, true);
  });

  it("does not pause for short pacing waits below the threshold", async () => {
    let now = 0;
    const sleeps: number[] = [];
    const lim = new AimdLimiter({
      max: 4,
      minThrottles: 1,
      now: () => now,
      sleep: async (ms) => {
        sleeps.push(ms);
        now += ms;
      },
    });
    const t = await lim.acquire();
    lim.congestion(t, 250); // below the default 1000 ms
    const u = await lim.acquire();
    expect(sleeps).toEqual([]);
    lim.congestion(u, 1500);
    lim.release(t, false);
    lim.release(u, false);
    lim.release(await lim.acquire(), true);
    expect(sleeps).toEqual([1500]);
  });
});

describe("AimdLimiter: sparse versus sustained throttling", () => {
  /** A limiter on an injected clock whose sleeps are recorded, never waited. */
  function limiter(options: {
    max: number;
    sampleSize?: number;
    throttleThreshold?: number;
    minThrottles?: number;
  }) {
    let now = 0;
    const sleeps: number[] = [];
    const lim = new AimdLimiter({
      ...options,
      now: () => now,
      sleep: async (ms) => {
        sleeps.push(ms);
        now += ms;
      },
    });
    return { lim, sleeps };
  }

  it("sparse 429s among successes (1 in 20) neither cut the window nor pause anyone, even with Retry-After 1 s", async () => {
    const { lim, sleeps } = limiter({ max: 8 });
    for (let i = 1; i <= 400; i++) {
      const t = await lim.acquire();
      if (i % 20 === 0) lim.congestion(t, 1000);
      lim.release(t, true); // the client's retry succeeded
    }
    expect(lim.limit).toBe(8);
    expect(lim.decreases).toBe(0);
    expect(lim.toleratedThrottles).toBe(20);
    expect(sleeps).toEqual([]);
  });

  it("sustained 429s (a whole burst of requests) cut the window once per epoch and honour a long Retry-After", async () => {
    const { lim, sleeps } = limiter({ max: 8 });
    const burst = await Promise.all(Array.from({ length: 8 }, () => lim.acquire()));
    for (const t of burst.slice(0, 7)) lim.congestion(t, 2000);
    expect(lim.limit).toBe(8); // seven could still be chance
    lim.congestion(burst[7]!, 2000); // eight of eight: sustained
    expect(lim.limit).toBe(4);
    expect(lim.decreases).toBe(1);
    for (const t of burst) lim.release(t, false);
    const next = await lim.acquire(); // waits out the Retry-After first
    expect(sleeps).toEqual([2000]);
    lim.release(next, false);
    // the new epoch needs its own evidence: seven 429s do not cut again, an eighth does
    for (let i = 1; i <= 8; i++) {
      const t = await lim.acquire();
      lim.congestion(t);
      lim.release(t, false);
      expect(lim.limit).toBe(i < 8 ? 4 : 2);
    }
    expect(lim.decreases).toBe(2);
  });

  it("3 % random 429s over 5,000 calls never cut the window; a budget that ran out (most calls 429) is cut within a window", async () => {
    // mulberry32: a fixed, seeded sequence, so the test is the same on every run.
    const random = (seed: number) => () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    for (const seed of [1, 13, 42]) {
      const next = random(seed);
      const { lim, sleeps } = limiter({ max: 8 });
      let throttles = 0;
      for (let i = 0; i < 5000; i++) {
        const t = await lim.acquire();
        if (next() < 0.03) {
          lim.congestion(t, 1000);
          throttles++;
        }
        lim.release(t, true);
      }
      expect(throttles).toBeGreaterThan(100);
      expect(lim.decreases).toBe(0);
      expect(sleeps).toEqual([]);

      const exhausted = limiter({ max: 8 }).lim;
      const nextCall = random(seed);
      let calls = 0;
      while (exhausted.decreases === 0 && calls < 100) {
        const t = await exhausted.acquire();
        if (nextCall() < 0.8) exhausted.congestion(t);
        exhausted.release(t, true);
        calls++;
      }
      expect(calls).toBeLessThanOrEqual(16);
    }
  });

  it("a 429 share at the threshold over the recent outcomes is sustained, below it is not", async () => {
    // 4 of 20 (20%) with threshold 0.2: cut. 3 of 20 (15%): not.
    for (const [throttles, cut] of [
      [4, true],
      [3, false],
    ] as const) {
      const { lim } = limiter({ max: 16, sampleSize: 20, throttleThreshold: 0.2, minThrottles: 3 });
      let seen = 0;
      for (let i = 0; i < 20; i++) {
        const t = await lim.acquire();
        // the throttles come last, so the share is judged over the full sample
        if (i >= 20 - throttles) {
          lim.congestion(t);
          seen++;
        } else lim.release(t, true);
        if (i >= 20 - throttles) lim.release(t, true);
      }
      expect(seen).toBe(throttles);
      expect(lim.decreases > 0).toBe(cut);
    }
  });
});

describe("AimdLimiter suspend/resume (a call waiting before its retry)", () => {
  it("gives the slot to the next call while one waits, and takes one again before the retry", async () => {
    const lim = new AimdLimiter({ max: 2, initial: 2 });
    const a = await lim.acquire();
    const b = await lim.acquire();
    let cGot = false;
    const c = lim.acquire().then((t) => {
      cGot = true;
      return t;
    });
    await tick();
    expect(cGot).toBe(false); // window full
    lim.suspend(a); // a waits out a Retry-After
    await tick();
    expect(cGot).toBe(true);
    expect(lim.inFlight).toBe(2);
    let aBack = false;
    const resumed = lim.resume(a).then(() => {
      aBack = true;
    });
    await tick();
    expect(aBack).toBe(false); // b and c are in flight: a waits for a slot before resending
    lim.release(b, true);
    await resumed;
    expect(aBack).toBe(true);
    expect(lim.inFlight).toBe(2);
    lim.release(a, true);
    lim.release(await c, true);
    expect(lim.inFlight).toBe(0);
  });
});
