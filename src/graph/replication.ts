import { TransientError } from "../errors.js";
import { GraphError } from "./errors.js";

/**
 * Waiting for Entra replication. Objects written a moment ago can be invisible to the next read or to a
 * dependent write for seconds to minutes, with no SLA (docs/setup.md, "Replication and verification"). We poll instead of
 * sleeping a fixed time: the interval grows with the time already waited (≈10 % of it, 100 ms – 10 s,
 * jittered), so a short lag costs little more than the lag itself and a long one does not hammer Graph.
 * Everything is bounded by one deadline for the whole run (`--timeout`).
 */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
  random(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

export class Deadline {
  readonly at: number;
  constructor(
    readonly clock: Clock,
    readonly timeoutMs: number,
  ) {
    this.at = clock.now() + timeoutMs;
  }
  remainingMs(): number {
    return Math.max(0, this.at - this.clock.now());
  }
}

/** Next poll interval after having waited `waitedMs` for the same condition. */
export function pollIntervalMs(waitedMs: number, random: () => number): number {
  const base = Math.min(10_000, Math.max(100, waitedMs * 0.1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** Graph answers that mean "not replicated yet" rather than "wrong" (docs/graph-queries.md, "Errors"). */
export function isReplicationLag(error: unknown): boolean {
  if (!(error instanceof GraphError)) return false;
  if (error.status === 404) return true;
  return (
    error.status === 400 &&
    error.matches(
      /NoBackingApplicationObject|Not a valid reference update|does not reference a valid application/i,
    )
  );
}

export interface WaitOptions {
  deadline: Deadline;
  /** Human name of what we wait for, used in the timeout message. */
  what: string;
  /** Which errors mean "try again later" (default: replication lag). */
  retryOn?: (error: unknown) => boolean;
  /** Called before each wait (progress output). */
  onWait?: (info: { waitedMs: number; reason: string }) => void;
}

/**
 * Run `probe` until it returns a value (not undefined) without a retryable error, or the deadline passes.
 * Non-retryable errors propagate at once.
 */
export async function waitFor<T>(probe: () => Promise<T | undefined>, options: WaitOptions): Promise<T> {
  const { deadline } = options;
  const clock = deadline.clock;
  const retryOn = options.retryOn ?? isReplicationLag;
  const started = clock.now();
  let lastReason = "not visible yet";
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
      lastReason = "not visible yet";
    } catch (error) {
      if (!retryOn(error)) throw error;
      lastReason = (error as Error).message;
    }
    const waited = clock.now() - started;
    const interval = pollIntervalMs(waited, clock.random);
    if (interval > deadline.remainingMs()) {
      throw new TransientError(
        `Timed out after ${Math.round(waited / 1000)} s waiting for ${options.what} (last answer: ${lastReason}).`,
        {
          hint: "Directory replication can take minutes; run the same command again (it resumes where it stopped), or raise --timeout.",
        },
      );
    }
    options.onWait?.({ waitedMs: waited, reason: lastReason });
    await clock.sleep(interval);
  }
}
