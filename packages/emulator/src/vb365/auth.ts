import { randomBytes } from "node:crypto";
import type { Vb365TokenThrottle } from "./types.js";

/**
 * Sessions of the emulated VB365 REST service (docs/emulator-vb365.md "Sign-in"): opaque access and
 * refresh tokens, the antiforgery token a session gets unless it asked for
 * `disable_antiforgery_token`, and the throttle of the token endpoint.
 */

export interface Session {
  userName: string;
  accessToken: string;
  refreshToken: string;
  accessExpiresMs: number;
  refreshExpiresMs: number;
  /** undefined when the session was opened with disable_antiforgery_token=true */
  antiforgeryToken?: string;
}

/** Refresh tokens outlive access tokens; the product's value is not documented (a guess). */
export const REFRESH_TOKEN_LIFETIME_MS = 14 * 86_400_000;
/** Sessions kept at most; the oldest are dropped past this (a long benchmark must not grow memory). */
const MAX_SESSIONS = 10_000;

const opaque = (bytes: number) => randomBytes(bytes).toString("base64url");

export class SessionStore {
  private readonly byAccess = new Map<string, Session>();
  private readonly byRefresh = new Map<string, Session>();

  open(userName: string, nowMs: number, lifetimeSeconds: number, antiforgery: boolean): Session {
    const session: Session = {
      userName,
      accessToken: opaque(48),
      refreshToken: opaque(48),
      accessExpiresMs: nowMs + lifetimeSeconds * 1000,
      refreshExpiresMs: nowMs + REFRESH_TOKEN_LIFETIME_MS,
      ...(antiforgery ? { antiforgeryToken: opaque(24) } : {}),
    };
    this.byAccess.set(session.accessToken, session);
    this.byRefresh.set(session.refreshToken, session);
    while (this.byAccess.size > MAX_SESSIONS) {
      const oldest = this.byAccess.values().next().value as Session;
      this.close(oldest);
    }
    return session;
  }

  /** The session of a live access token. */
  byAccessToken(token: string, nowMs: number): Session | undefined {
    const s = this.byAccess.get(token);
    return s && nowMs < s.accessExpiresMs ? s : undefined;
  }

  /** The session of a live refresh token. */
  byRefreshToken(token: string, nowMs: number): Session | undefined {
    const s = this.byRefresh.get(token);
    return s && nowMs < s.refreshExpiresMs ? s : undefined;
  }

  /** End a session: its access and refresh tokens stop working. */
  close(session: Session): void {
    this.byAccess.delete(session.accessToken);
    this.byRefresh.delete(session.refreshToken);
  }
}

/** Sliding-window budgets of POST /token: per second, minute and hour. */
export class TokenThrottle {
  private times: number[] = [];

  /** undefined when admitted (and counted), else the seconds to wait and the window that refused. */
  admit(
    nowMs: number,
    budget: Vb365TokenThrottle | undefined,
  ): { retryAfterSeconds: number; limit: number; period: "second" | "minute" | "hour" } | undefined {
    if (!budget) return undefined;
    this.times = this.times.filter((t) => nowMs - t < 3_600_000);
    const windows = [
      { period: "second" as const, ms: 1000, limit: budget.perSecond },
      { period: "minute" as const, ms: 60_000, limit: budget.perMinute },
      { period: "hour" as const, ms: 3_600_000, limit: budget.perHour },
    ];
    for (const w of windows) {
      if (w.limit === undefined) continue;
      const inWindow = this.times.filter((t) => nowMs - t < w.ms);
      if (inWindow.length >= w.limit) {
        // the oldest request of the window has to leave it before another one fits
        const oldest = inWindow[inWindow.length - w.limit] ?? nowMs;
        return {
          retryAfterSeconds: Math.max(1, Math.ceil((oldest + w.ms - nowMs) / 1000)),
          limit: w.limit,
          period: w.period,
        };
      }
    }
    this.times.push(nowMs);
    return undefined;
  }
}
