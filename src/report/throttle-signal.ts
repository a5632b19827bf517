/**
 * Tells the concurrency limiter which call was throttled.
 *
 * The Exchange client retries 429s itself and reports each retry through one connection-wide
 * `retry.onRetry` callback. That callback runs inside the async context of the call that was
 * throttled, so AsyncLocalStorage lets us attribute it to that call's limiter slot without the
 * client knowing anything about the report.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { realSleep } from "../http/retry.js";
import { RecentOutcomes } from "./recent-outcomes.js";

export interface RetryNotice {
  /** the client's description, e.g. "throttled (HTTP 429)" */
  reason?: string;
  status?: number;
  /** how long the client waits before retrying (the server's Retry-After when it sent one) */
  delayMs?: number;
}

export const isThrottleNotice = (info: RetryNotice): boolean =>
  info.status === 429 || /\b429\b|throttl/i.test(info.reason ?? "");

/** What the call running in this async context does when the client throttles or waits. */
export interface CallHooks {
  onThrottle(delayMs?: number): void;
  /** The client is about to wait before a retry: give the call's slot back. */
  suspend?(): void;
  /** The wait is over: take a slot again before the retry is sent. */
  resume?(): Promise<void>;
}

export class ThrottleSignal {
  private readonly current = new AsyncLocalStorage<CallHooks>();
  /** 429 retries seen across the connection (for progress lines and benchmarks) */
  throttled = 0;
  /** faults against completed calls: are they sparse or sustained? */
  private readonly recentFaults = new RecentOutcomes();

  /** Give this to the client as `retry.onRetry`. */
  readonly onRetry = (info: RetryNotice): void => {
    if (!isThrottleNotice(info)) {
      // 503/504, transient exceptions, dropped connections
      this.recentFaults.record(true);
      return;
    }
    this.throttled++;
    this.current.getStore()?.onThrottle(info.delayMs);
  };

  /**
   * Give this to the client as `retry.escalate`: a call's backoff grows (2, 4, 8 s ceilings) only while
   * faults are sustained over the recent calls. A 503 among hundreds of successes says nothing about the
   * service, so the unlucky call that meets a second or third one waits under 1 s again rather than
   * holding up the end of the report for 4, 8 or 16 s (measured: docs/report.md, BENCHMARKS.md).
   */
  readonly escalate = (): boolean => this.recentFaults.sustained;

  /**
   * Give this to the client as `retry.sleep`: a call waiting out a Retry-After or a backoff is not a
   * request in flight, so its concurrency slot serves another call meanwhile (sparse random faults then
   * cost their own wait, not a stalled slot: BENCHMARKS.md, docs/report.md).
   */
  readonly sleep = async (ms: number, signal?: AbortSignal): Promise<void> => {
    const hooks = this.current.getStore();
    if (!hooks?.suspend || !hooks.resume) return realSleep(ms, signal);
    hooks.suspend();
    try {
      await realSleep(ms, signal);
    } finally {
      await hooks.resume();
    }
  };

  /** Run one call under `hooks`: `onThrottle` fires (with the client's wait) if the client retries it after a 429. */
  async run<T>(hooks: CallHooks, call: () => Promise<T>): Promise<T> {
    const result = await this.current.run(hooks, call);
    this.recentFaults.record(false);
    return result;
  }
}
