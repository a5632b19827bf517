import { setMaxListeners } from "node:events";
import { TransientError } from "../errors.js";
import { isTransientNetworkError } from "./transport.js";

/** Connection failures in a row that open the breaker (docs/operations.md "What happens when…"). */
export const DEFAULT_BREAKER_THRESHOLD = 20;

/** The endpoint is unreachable: the whole run stops (exit 6) instead of retrying every call for hours. */
export class CircuitOpenError extends TransientError {}

/**
 * A whole-run circuit breaker: every request of a run reports whether it reached the server. After
 * `threshold` connection failures in a row (refused, reset, timed out, no answer; any HTTP answer at all
 * resets the count) the breaker opens: its signal aborts every request and retry wait in flight, and every
 * later request fails at once with a CircuitOpenError. 20 in a row is practically impossible with a lossy
 * but working network (30 % drops: 0.3^20 ≈ 3e-11) and takes seconds with a dead endpoint.
 */
export class CircuitBreaker {
  private consecutive = 0;
  private readonly controller = new AbortController();

  constructor(
    readonly threshold = DEFAULT_BREAKER_THRESHOLD,
    private readonly hint = "Nothing measured so far is lost: once the endpoint answers again, run the same command with --resume.",
  ) {
    // Every request in flight listens to it (src/http/signals.ts): hundreds at once are expected, not a leak.
    setMaxListeners(0, this.controller.signal);
  }

  /** Aborted (with the CircuitOpenError as reason) when the breaker opens. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get isOpen(): boolean {
    return this.controller.signal.aborted;
  }

  /** Throw the CircuitOpenError when the breaker is open. */
  check(): void {
    if (this.isOpen) throw this.controller.signal.reason;
  }

  /** The server answered (any status): the endpoint is reachable. */
  success(): void {
    this.consecutive = 0;
  }

  /** A request failed; counted only when it is a connection failure. */
  failure(error: unknown): void {
    if (this.isOpen || !isTransientNetworkError(error)) return;
    this.consecutive++;
    if (this.consecutive < this.threshold) return;
    const code = (error as { code?: string }).code ?? (error as Error).message;
    this.controller.abort(
      new CircuitOpenError(
        `The Exchange endpoint is unreachable: ${this.consecutive} connection failures in a row (last: ${code}); the run was stopped.`,
        { hint: this.hint, cause: error },
      ),
    );
  }
}
