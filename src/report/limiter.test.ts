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
    const lim = new AimdLimiter({ max: 8 });
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
    const lim = new AimdLimiter({ max: 4, initial: 1 });
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
