/**
 * Tells the concurrency limiter which call was throttled.
 *
 * The Exchange client retries 429s itself and reports each retry through one connection-wide
 * `retry.onRetry` callback. That callback runs inside the async context of the call that was
 * throttled, so AsyncLocalStorage lets us attribute it to that call's limiter slot without the
 * client knowing anything about the report.
 */
import { AsyncLocalStorage } from "node:async_hooks";

export interface RetryNotice {
  /** the client's description, e.g. "throttled (HTTP 429)" */
  reason?: string;
  status?: number;
  /** how long the client waits before retrying (the server's Retry-After when it sent one) */
  delayMs?: number;
}

export const isThrottleNotice = (info: RetryNotice): boolean =>
  info.status === 429 || /\b429\b|throttl/i.test(info.reason ?? "");

export class ThrottleSignal {
  private readonly current = new AsyncLocalStorage<(delayMs?: number) => void>();
  /** 429 retries seen across the connection (for progress lines and benchmarks) */
  throttled = 0;

  /** Give this to the client as `retry.onRetry`. */
  readonly onRetry = (info: RetryNotice): void => {
    if (!isThrottleNotice(info)) return;
    this.throttled++;
    this.current.getStore()?.(info.delayMs);
  };

  /** Run one call; `onThrottle` fires (with the client's wait) if the client retries it after a 429. */
  run<T>(onThrottle: (delayMs?: number) => void, call: () => Promise<T>): Promise<T> {
    return this.current.run(onThrottle, call);
  }
}
