import type { AccessToken, TokenProvider } from "./types.js";

/** Refresh this long before expiry, so no request leaves with a token about to die in flight. */
export const REFRESH_AHEAD_MS = 5 * 60_000;

/**
 * One token per hour-long run: serve the cached token until it is within 5 minutes of expiry; callers
 * arriving while a refresh is under way share it (a report with 8 workers still makes one request).
 * `forceRefresh` (after a 401) always goes to the inner provider.
 */
export class CachingTokenProvider implements TokenProvider {
  /** Tokens actually obtained from the inner provider (the benchmark's "token requests"). */
  fetches = 0;
  private current: AccessToken | undefined;
  private inFlight: Promise<AccessToken> | undefined;

  constructor(
    readonly inner: TokenProvider,
    private readonly now: () => number = Date.now,
  ) {}

  get kind(): string {
    return this.inner.kind;
  }

  async getToken(options: { forceRefresh?: boolean } = {}): Promise<AccessToken> {
    const cached = this.current;
    if (!options.forceRefresh && cached && cached.expiresOnTimestamp - REFRESH_AHEAD_MS > this.now()) {
      return cached;
    }
    if (this.inFlight) return this.inFlight;
    const fetching = (async () => {
      try {
        this.fetches++;
        const token = await this.inner.getToken(options.forceRefresh ? { forceRefresh: true } : {});
        this.current = token;
        return token;
      } finally {
        this.inFlight = undefined;
      }
    })();
    this.inFlight = fetching;
    return fetching;
  }

  /** Forget the token (disconnect). */
  clear(): void {
    this.current = undefined;
  }
}
