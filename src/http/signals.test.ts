import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { linkSignals } from "./signals.js";

const listeners = (signal: AbortSignal) => getEventListeners(signal, "abort").length;

describe("linkSignals", () => {
  it("hands back a lone signal (or none) as it is, with nothing to release", () => {
    const a = new AbortController();
    expect(linkSignals([]).signal).toBeUndefined();
    expect(linkSignals([undefined, undefined]).signal).toBeUndefined();
    expect(linkSignals([undefined, a.signal]).signal).toBe(a.signal);
    expect(listeners(a.signal)).toBe(0);
  });

  it("aborts with the reason of whichever source aborts first, then stops listening to the others", () => {
    const a = new AbortController();
    const b = new AbortController();
    const linked = linkSignals([a.signal, b.signal]);
    expect(linked.signal?.aborted).toBe(false);
    expect([listeners(a.signal), listeners(b.signal)]).toEqual([1, 1]);
    const reason = new Error("breaker open");
    b.abort(reason);
    expect(linked.signal?.aborted).toBe(true);
    expect(linked.signal?.reason).toBe(reason);
    expect([listeners(a.signal), listeners(b.signal)]).toEqual([0, 0]);
    a.abort(new Error("later"));
    expect(linked.signal?.reason).toBe(reason);
  });

  it("is aborted from the start when a source already is", () => {
    const a = new AbortController();
    const reason = new Error("interrupted");
    a.abort(reason);
    const b = new AbortController();
    const linked = linkSignals([a.signal, b.signal]);
    expect(linked.signal?.aborted).toBe(true);
    expect(linked.signal?.reason).toBe(reason);
    expect(listeners(b.signal)).toBe(0);
  });

  it("release() lets go of the sources: a later abort no longer reaches the linked signal", () => {
    const a = new AbortController();
    const b = new AbortController();
    const linked = linkSignals([a.signal, b.signal]);
    linked.release();
    expect([listeners(a.signal), listeners(b.signal)]).toEqual([0, 0]);
    a.abort();
    expect(linked.signal?.aborted).toBe(false);
  });
});
