/**
 * Concurrency control for the statistics fan-out.
 *
 * `AimdLimiter` adapts to throttling like TCP congestion control: the window halves when a request
 * sees a 429 (multiplicative decrease) and grows by about one slot per window of successful requests
 * (additive increase), never above the user's `--concurrency`. Exchange does not publish its budgets,
 * so probing is the only way to run near them without hammering the service.
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

  constructor(options: AimdOptions) {
    if (!Number.isInteger(options.max) || options.max < 1)
      throw new RangeError("max must be a positive integer");
    this.max = options.max;
    this.min = Math.max(1, Math.min(options.min ?? 1, this.max));
    this.window = Math.min(this.max, Math.max(this.min, options.initial ?? this.max));
  }

  /** Current window (may be fractional while it grows). */
  get limit(): number {
    return this.window;
  }

  get inFlight(): number {
    return this.active;
  }

  async acquire(): Promise<LimiterTicket> {
    while (this.active >= Math.floor(this.window)) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    this.active++;
    return { seq: this.issued++ };
  }

  /**
   * A request saw throttling. One burst of 429s hits every request of the same window, so only the
   * first signal from a window cuts it; requests started before the cut do not cut it again.
   */
  congestion(ticket: LimiterTicket): void {
    if (ticket.seq < this.cutAt) return;
    this.window = Math.max(this.min, Math.floor(this.window / 2));
    this.cutAt = this.issued;
    this.decreases++;
  }

  /** The request ended; `ok` requests grow the window by 1/window (≈ +1 per window of successes). */
  release(_ticket: LimiterTicket, ok: boolean): void {
    this.active--;
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
