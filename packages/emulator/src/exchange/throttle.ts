/**
 * Throttling of an emulated endpoint per budget key (Exchange and Graph: the tenant): a token bucket
 * (`ratePerSecond`, `burst`) and a cap on concurrent requests (`concurrency`). Time comes from the caller's clock so tests can drive
 * it without waiting.
 */

import type { ThrottleOptions } from "../types.js";

/** What the Rate-Limit-* headers report when no rate is configured (the value seen in a real capture). */
export const DEFAULT_RATE_LIMIT = 30_000;
/** Retry-After when only the concurrency cap refused the request (a slot usually frees within a request's time). */
export const CONCURRENCY_RETRY_AFTER_SECONDS = 0.5;

export type ThrottleDecision =
  | { allowed: true; release(): void; limit: number; remaining: number; resetMs: number }
  | {
      allowed: false;
      retryAfterSeconds: number;
      reason: "rate" | "concurrency";
      limit: number;
      resetMs: number;
    };

interface AppState {
  tokens: number;
  updatedMs: number;
  inFlight: number;
  /** requests in the current hour window, for Rate-Limit-Remaining when no rate is configured */
  windowStartMs: number;
  windowCount: number;
}

const HOUR_MS = 3_600_000;

export class AppThrottle {
  private readonly apps = new Map<string, AppState>();

  /** Decide for one request charged to budget `appId` (the tenant id) at `nowMs` under the current options. */
  admit(appId: string, nowMs: number, options: ThrottleOptions | undefined): ThrottleDecision {
    const rate = options?.ratePerSecond;
    const burst = Math.max(1, options?.burst ?? rate ?? 1);
    let state = this.apps.get(appId);
    if (!state) {
      state = { tokens: burst, updatedMs: nowMs, inFlight: 0, windowStartMs: nowMs, windowCount: 0 };
      this.apps.set(appId, state);
    }
    if (nowMs - state.windowStartMs >= HOUR_MS) {
      state.windowStartMs = nowMs;
      state.windowCount = 0;
    }
    if (rate !== undefined && rate > 0) {
      state.tokens = Math.min(burst, state.tokens + (Math.max(0, nowMs - state.updatedMs) / 1000) * rate);
    }
    state.updatedMs = nowMs;
    const limit = rate !== undefined && rate > 0 ? burst : DEFAULT_RATE_LIMIT;
    const resetMs =
      rate !== undefined && rate > 0
        ? nowMs + Math.ceil(((burst - state.tokens) / rate) * 1000)
        : state.windowStartMs + HOUR_MS;

    const concurrency = options?.concurrency;
    if (concurrency !== undefined && concurrency > 0 && state.inFlight >= concurrency) {
      return {
        allowed: false,
        reason: "concurrency",
        retryAfterSeconds: CONCURRENCY_RETRY_AFTER_SECONDS,
        limit,
        resetMs,
      };
    }
    if (rate !== undefined && rate > 0) {
      if (state.tokens < 1) {
        // Fractional seconds, rounded up to the millisecond so a client waiting exactly this long succeeds.
        const retryAfterSeconds = Math.ceil(((1 - state.tokens) / rate) * 1000) / 1000;
        return { allowed: false, reason: "rate", retryAfterSeconds, limit, resetMs };
      }
      state.tokens -= 1;
    }
    state.windowCount++;
    state.inFlight++;
    let released = false;
    const app = state;
    return {
      allowed: true,
      limit,
      remaining:
        rate !== undefined && rate > 0
          ? Math.floor(app.tokens)
          : Math.max(0, DEFAULT_RATE_LIMIT - app.windowCount),
      resetMs,
      release() {
        if (released) return;
        released = true;
        app.inFlight--;
      },
    };
  }
}
