import { TransientError } from "../errors.js";
import { isTransientNetworkError } from "./transport.js";

/**
 * One retry policy for every client (Exchange, Graph, reports): bounded attempts, an overall deadline,
 * capped exponential backoff with full jitter, and the server's Retry-After honoured exactly.
 * Clock, sleep and randomness are injectable so tests never wait for real.
 */
export interface RetryOptions {
  /** Total attempts including the first (default 6, like the Exchange module: 1 try + 5 retries). */
  maxAttempts?: number;
  /** First backoff ceiling in ms (default 2000, the module's base); doubles per retry. */
  baseDelayMs?: number;
  /** Cap of one backoff delay in ms (default 60 s). */
  maxDelayMs?: number;
  /** Give up when the next wait would end later than this many ms after the first attempt (default 10 min). */
  deadlineMs?: number;
  /** Injectable for tests. */
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** In [0, 1); full jitter multiplies the backoff ceiling by it. */
  random?: () => number;
  /**
   * Whether our own backoff grows with each retry of a call (the default). A caller that sees the whole
   * workload answers false while failures are sparse among successes (the report: docs/report.md,
   * "Speed, throttling and failures"): each retry then waits a fresh full-jitter delay under half the
   * base ceiling (1 s by default) instead of 2, 4, 8, 16 s for a call that was merely unlucky. Asked
   * before each wait, so sustained failures grow the backoff again at once. Retry-After is unaffected.
   */
  escalate?: () => boolean;
  signal?: AbortSignal;
  /** Told about every retry before the wait (for counters and verbose logs). */
  onRetry?: (info: RetryInfo) => void;
}

export interface RetryInfo {
  /** The attempt that failed, 1-based. */
  attempt: number;
  delayMs: number;
  reason: string;
}

/** Thrown by an operation to say "this failure is worth another try" (with the server's wait, if any). */
export class RetryableError extends Error {
  readonly retryAfterMs: number | undefined;
  readonly httpStatus: number | undefined;
  readonly requestId: string | undefined;
  /** What to tell the user if the retries run out (instead of the generic "busy or unreachable"). */
  readonly hint: string | undefined;

  constructor(
    reason: string,
    details: {
      retryAfterMs?: number;
      httpStatus?: number;
      requestId?: string;
      cause?: unknown;
      hint?: string;
    } = {},
  ) {
    super(reason, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "RetryableError";
    this.retryAfterMs = details.retryAfterMs;
    this.httpStatus = details.httpStatus;
    this.requestId = details.requestId;
    this.hint = details.hint;
  }
}

export const DEFAULT_RETRY = {
  maxAttempts: 6,
  baseDelayMs: 2000,
  maxDelayMs: 60_000,
  deadlineMs: 10 * 60_000,
} as const;

export const realSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });

/**
 * Parse a Retry-After header into milliseconds: delta-seconds (also fractional, as Exchange sends) or an
 * HTTP date. Undefined when absent or unparseable; never negative.
 */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (text === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  // Only an HTTP date (it names a weekday/month); Date.parse would read "-1" as a year.
  if (!/[a-z]{3}/i.test(text)) return undefined;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

/** Full jitter: a uniformly random wait between 0 and min(cap, base * 2^retry), or min(cap, base / 2) when not escalating. */
export function backoffDelay(retry: number, options: RetryOptions = {}): number {
  const base = options.baseDelayMs ?? DEFAULT_RETRY.baseDelayMs;
  const cap = options.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs;
  // Sparse faults: half the first ceiling for every retry (1 s with the default base, the default
  // retryDelayInMs of Azure's own core-rest-pipeline: docs/report.md, "Speed, throttling and failures").
  const ceiling = Math.min(cap, options.escalate?.() === false ? base / 2 : base * 2 ** retry);
  return Math.floor((options.random ?? Math.random)() * ceiling);
}

/**
 * Decide from a finished HTTP response whether to retry: 429 and 503/504 always, other 4xx/5xx only
 * when `transientReason` (the service's own classifier, e.g. Exchange's transient exception names)
 * names a reason in the body. Returns undefined when the response is final.
 */
export function retryableResponse(
  status: number,
  headers: Record<string, string | string[] | undefined>,
  bodyText: string,
  nowMs: number,
  transientReason: (bodyText: string) => string | undefined = () => undefined,
): RetryableError | undefined {
  const retryAfterMs = parseRetryAfter(headers["retry-after"], nowMs);
  const requestId = firstHeader(headers["request-id"]) ?? firstHeader(headers["x-ms-request-id"]);
  const details = (reason: string) => {
    const d: ConstructorParameters<typeof RetryableError>[1] = { httpStatus: status };
    if (retryAfterMs !== undefined) d.retryAfterMs = retryAfterMs;
    if (requestId !== undefined) d.requestId = requestId;
    return new RetryableError(reason, d);
  };
  if (status === 429) return details("throttled (HTTP 429)");
  if (status === 503 || status === 504) return details(`service unavailable (HTTP ${status})`);
  if (status >= 400) {
    const name = transientReason(bodyText);
    if (name) return details(`${name} (HTTP ${status})`);
  }
  return undefined;
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The reason a failure is retryable, or undefined when it must fail fast. */
function retryReason(error: unknown): string | undefined {
  if (error instanceof RetryableError) return error.message;
  if (isTransientNetworkError(error)) {
    const code = (error as { code?: string }).code;
    // A timeout says how long it waited (docs/invoke.md "Limits": --request-timeout).
    if (code === "ETIMEDOUT" && /request timeout/.test((error as Error).message)) {
      return `connection failed (ETIMEDOUT: ${(error as Error).message})`;
    }
    return `connection failed (${code ?? (error as Error).message})`;
  }
  return undefined;
}

/**
 * Run `operation` until it succeeds, fails with a non-retryable error (rethrown as is), or the budget
 * (attempts, deadline) runs out (then a TransientError saying how many attempts were made).
 */
export async function withRetry<T>(
  operation: (attempt: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const maxAttempts = Math.max(1, options.maxAttempts ?? DEFAULT_RETRY.maxAttempts);
  const deadlineMs = options.deadlineMs ?? DEFAULT_RETRY.deadlineMs;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? realSleep;
  const started = now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      const reason = retryReason(error);
      if (reason === undefined) throw error;
      const serverWait = error instanceof RetryableError ? error.retryAfterMs : undefined;
      // The server's own wait is authoritative; jitter only applies to our own backoff.
      const delayMs = serverWait ?? backoffDelay(attempt - 1, options);
      const outOfAttempts = attempt >= maxAttempts;
      const outOfTime = now() + delayMs - started > deadlineMs;
      if (outOfAttempts || outOfTime) {
        const why = outOfAttempts
          ? `after ${attempt} attempts`
          : `after ${attempt} attempts (deadline reached)`;
        const details: ConstructorParameters<typeof TransientError>[1] = {
          attempts: attempt,
          cause: error,
          hint:
            (error instanceof RetryableError ? error.hint : undefined) ??
            "The service is busy or unreachable; run the command again later.",
        };
        if (error instanceof RetryableError) {
          if (error.httpStatus !== undefined) details.httpStatus = error.httpStatus;
          if (error.requestId !== undefined) details.requestId = error.requestId;
        }
        throw new TransientError(`Gave up ${why}: ${reason}.`, details);
      }
      options.onRetry?.({ attempt, delayMs, reason });
      await sleep(delayMs, options.signal);
    }
  }
}
