import { describe, expect, it } from "vitest";
import { exitCodeFor } from "../errors.js";
import { CircuitBreaker, CircuitOpenError } from "./circuit-breaker.js";

const refused = () => Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });

describe("CircuitBreaker", () => {
  it("opens after `threshold` connection failures in a row, aborting its signal with an exit-6 error", () => {
    const breaker = new CircuitBreaker(3);
    breaker.failure(refused());
    breaker.failure(refused());
    expect(breaker.isOpen).toBe(false);
    expect(() => breaker.check()).not.toThrow();
    breaker.failure(refused());
    expect(breaker.isOpen).toBe(true);
    expect(breaker.signal.aborted).toBe(true);
    const reason = breaker.signal.reason as CircuitOpenError;
    expect(reason).toBeInstanceOf(CircuitOpenError);
    expect(exitCodeFor(reason)).toBe(6);
    expect(reason.message).toBe(
      "The Exchange endpoint is unreachable: 3 connection failures in a row (last: ECONNREFUSED); the run was stopped.",
    );
    expect(() => breaker.check()).toThrow(reason);
  });

  it("any answer from the server resets the count; other errors are not connection failures", () => {
    const breaker = new CircuitBreaker(3);
    breaker.failure(refused());
    breaker.failure(refused());
    breaker.success();
    breaker.failure(refused());
    breaker.failure(new Error("a bug, not the network"));
    breaker.failure(Object.assign(new Error("HTTP 500"), { httpStatus: 500 }));
    breaker.failure(refused());
    expect(breaker.isOpen).toBe(false);
    breaker.failure(refused());
    expect(breaker.isOpen).toBe(true);
  });
});
