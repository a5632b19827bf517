/**
 * Sparse or sustained? The share of bad outcomes (429s for the limiter, 5xx and dropped connections for
 * the retry backoff) among the last few calls. Exchange does not publish its budgets or its fault rates,
 * so the report judges from what it sees: a budget that has run out, or a backend that is down, answers
 * most calls badly; a random fault here and there does not (docs/report.md, "Speed, throttling and
 * failures").
 *
 * The defaults are sized so that random faults at a few percent practically never look sustained: at
 * 3 % the chance of 8 or more among 40 outcomes is about 3e-5, of 10 among 50 about 3e-6 (4 of 20, the
 * former rule, was 3e-3: once or twice per thousand calls), while most calls failing crosses it within
 * a window of calls.
 */
export interface RecentOutcomesOptions {
  /** how many recent outcomes the share is taken over (default 50) */
  sampleSize?: number;
  /** share of bad outcomes from which the trouble counts as sustained (default 0.2) */
  threshold?: number;
  /** and the least number of bad outcomes for that (default 8) */
  minBad?: number;
}

export class RecentOutcomes {
  private readonly outcomes: boolean[] = [];
  private bad = 0;
  private readonly sampleSize: number;
  private readonly threshold: number;
  private readonly minBad: number;

  constructor(options: RecentOutcomesOptions = {}) {
    this.sampleSize = Math.max(1, options.sampleSize ?? 50);
    this.threshold = options.threshold ?? 0.2;
    this.minBad = Math.max(1, options.minBad ?? 8);
  }

  /** One more outcome: `bad` for a 429/fault, false for a call that completed. */
  record(bad: boolean): void {
    this.outcomes.push(bad);
    if (bad) this.bad++;
    if (this.outcomes.length > this.sampleSize && this.outcomes.shift()) this.bad--;
  }

  /** Are the bad outcomes sustained over the recent ones? */
  get sustained(): boolean {
    return this.bad >= this.minBad && this.bad >= this.threshold * this.outcomes.length;
  }

  /** Forget everything (a new epoch: outcomes from before a reaction no longer count). */
  clear(): void {
    this.outcomes.length = 0;
    this.bad = 0;
  }
}
