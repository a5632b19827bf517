import { RecentOutcomes } from "./recent-outcomes.js";

/**
 * Concurrency control for the statistics fan-out.
 *
 * `AimdLimiter` adapts to throttling like TCP congestion control: the window halves when throttling is
 * sustained (multiplicative decrease) and grows by about one slot per window of successful requests
 * (additive increase), never above the user's `--concurrency`. Exchange does not publish its budgets,
 * so probing is the only way to run near them without hammering the service.
 *
 * Sustained, not sparse: a lone 429 among many successes is retried by the client after its
 * Retry-After and changes nothing else. The window is cut (and a long Retry-After pauses new requests)
 * only when the recent outcomes hold at least `minThrottles` 429s making up at least
 * `throttleThreshold` of them — a budget that is really running out answers most requests with 429s.
 * Each cut starts a new epoch: outcomes from before it no longer count (docs/report.md, "Speed, throttling and failures").
 *
 * `Semaphore` is the plain global cap shared by all tenants of a multi-tenant run.
 */

export class Semaphore {
  private available: number;
  private readonly waiters: Array<() => void> = [];

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError("capacity must be a positive integer");
    this.available = capacity;
  }

  async acquire(): Promise<() => void> {
    if (this.available > 0) this.available--;
    else await new Promise<void>((resolve) => this.waiters.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next) next();
      else this.available++;
    };
  }
}

/** A slot taken from the limiter; `seq` tells whether a congestion signal is older than the last decrease. */
export interface LimiterTicket {
  readonly seq: number;
}

export interface AimdOptions {
  /** upper bound of the window (`--concurrency`) */
  max: number;
  /** starting window (default: max) */
  initial?: number;
  /** lower bound (default 1) */
  min?: number;
  /** Retry-After from which new requests pause too (default 1000 ms) */
  pauseThresholdMs?: number;
  /** how many recent outcomes (429s and completed requests) the throttle rate is taken over (RecentOutcomes' default) */
  sampleSize?: number;
  /** share of 429s among the recent outcomes from which throttling counts as sustained (RecentOutcomes' default) */
  throttleThreshold?: number;
  /** and the least number of 429s for that (RecentOutcomes' default) */
  minThrottles?: number;
  /** injectable clock and sleep for the Retry-After pause (tests never wait for real) */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export class AimdLimiter {
  private window: number;
  private active = 0;
  private issued = 0;
  /** tickets issued before this sequence number belong to the window that was already cut */
  private cutAt = 0;
  private readonly waiters: Array<() => void> = [];
  readonly max: number;
  readonly min: number;
  /** how many times the window was cut (for progress lines and benchmarks) */
  decreases = 0;
  /** no new request starts before this time: the server said when to come back (Retry-After) */
  private pausedUntil = 0;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly pauseThresholdMs: number;
  /** recent outcomes of this epoch: 429s against completed requests */
  private readonly recent: RecentOutcomes;
  /** 429s that changed nothing (sparse ones), for progress lines and benchmarks */
  toleratedThrottles = 0;

  constructor(options: AimdOptions) {
    if (!Number.isInteger(options.max) || options.max < 1)
      throw new RangeError("max must be a positive integer");
    this.max = options.max;
    this.min = Math.max(1, Math.min(options.min ?? 1, this.max));
    this.window = Math.min(this.max, Math.max(this.min, options.initial ?? this.max));
    this.now = options.now ?? Date.now;
    this.pauseThresholdMs = options.pauseThresholdMs ?? 1000;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.recent = new RecentOutcomes({
      ...(options.sampleSize === undefined ? {} : { sampleSize: options.sampleSize }),
      ...(options.throttleThreshold === undefined ? {} : { threshold: options.throttleThreshold }),
      ...(options.minThrottles === undefined ? {} : { minBad: options.minThrottles }),
    });
  }

  /** Current window (may be fractional while it grows). */
  get limit(): number {
    return this.window;
  }

  get inFlight(): number {
    return this.active;
  }

  async acquire(): Promise<LimiterTicket> {
    await this.takeSlot();
    return { seq: this.issued++ };
  }

  /** Wait until no pause is on and the window has room, then count one more request in flight. */
  private async takeSlot(): Promise<void> {
    for (;;) {
      // Requests started while the service asked us to wait would only be refused again.
      const wait = this.pausedUntil - this.now();
      if (wait > 0) await this.sleep(wait);
      else if (this.active >= Math.floor(this.window)) {
        await new Promise<void>((resolve) => this.waiters.push(resolve));
      } else break;
    }
    this.active++;
  }

  /**
   * A request saw throttling (the client retries it after the server's Retry-After). It counts towards
   * the throttle rate; when that shows sustained throttling the window is cut, and a long Retry-After
   * (the server asking for a real break) pauses new requests too. One burst of 429s hits every request
   * of the same window, so signals from requests started before the last cut are not counted again.
   */
  congestion(ticket: LimiterTicket, retryAfterMs?: number): void {
    if (ticket.seq < this.cutAt) return;
    this.recent.record(true);
    if (!this.recent.sustained) {
      this.toleratedThrottles++;
      return;
    }
    // Short waits are token-bucket pacing; the retried request waits them out itself, and pausing
    // every slot for them collapses throughput (measured: 1.9× the budget's lower bound vs 1.08×).
    if (retryAfterMs !== undefined && retryAfterMs >= this.pauseThresholdMs) {
      this.pausedUntil = Math.max(this.pausedUntil, this.now() + retryAfterMs);
    }
    this.window = Math.max(this.min, Math.floor(this.window / 2));
    this.cutAt = this.issued;
    this.decreases++;
    this.recent.clear(); // a new epoch
  }

  /**
   * The call holding `ticket` waits out a retry delay (Retry-After, backoff): while it waits it is not a
   * request in flight, so its slot goes to the next call. `resume` takes a slot again before it resends.
   */
  suspend(_ticket: LimiterTicket): void {
    this.active--;
    this.wake();
  }

  /** Take a slot again for a suspended call (same ticket, so a later congestion signal is judged as before). */
  resume(_ticket: LimiterTicket): Promise<void> {
    return this.takeSlot();
  }

  /** The request ended; `ok` requests grow the window by 1/window (≈ +1 per window of successes). */
  release(ticket: LimiterTicket, ok: boolean): void {
    this.active--;
    if (ok && ticket.seq >= this.cutAt) this.recent.record(false);
    if (ok && this.window < this.max) this.window = Math.min(this.max, this.window + 1 / this.window);
    this.wake();
  }

  private wake(): void {
    let free = Math.floor(this.window) - this.active;
    while (free > 0 && this.waiters.length > 0) {
      this.waiters.shift()!();
      free--;
    }
  }
}
