/**
 * Server-side paging of InvokeCommand results (docs/exchange-rest.md §3, docs/emulator-exchange.md "Paging"):
 * - page size from `Prefer: odata.maxpagesize=N` (also `X-Prefer`), default 100, capped at 1000;
 * - `@odata.nextLink` carries an opaque, HMAC-signed `$skiptoken` with the cmdlet, its parameters (so a
 *   GET on the link can continue without a body), a hash of both (so a POST with other parameters is
 *   refused), the tenant and app it belongs to, the scan position and the rows already returned.
 */

import { createHash, createHmac, timingSafeEqual } from "node:crypto";

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;
/** How long a nextLink stays valid (real ones are said to last 5–10 minutes). */
export const SKIPTOKEN_LIFETIME_MS = 10 * 60_000;

/** The page size a request asks for, or undefined without a valid `odata.maxpagesize` preference. */
export function requestedPageSize(preferHeaders: Array<string | string[] | undefined>): number | undefined {
  for (const header of preferHeaders) {
    for (const value of Array.isArray(header) ? header : header ? [header] : []) {
      const match = /(?:^|[,;\s])odata\.maxpagesize\s*=\s*"?(\d+)"?/i.exec(value);
      if (match) return Math.min(MAX_PAGE_SIZE, Math.max(1, Number(match[1])));
    }
  }
  return undefined;
}

export interface Continuation {
  /** canonical cmdlet name */
  cmdlet: string;
  params: Record<string, unknown>;
  /** hash of cmdlet + parameters */
  hash: string;
  tenantId: string;
  appId: string;
  /** next position in the cmdlet's scan space */
  cursor: number;
  /** rows returned so far (ResultSize accounting) */
  emitted: number;
  pageSize: number;
  issuedMs: number;
}

/** Stable hash of a cmdlet call: parameter names case-insensitive, key order irrelevant. */
export function invocationHash(cmdlet: string, params: Record<string, unknown>): string {
  const canonical = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(canonical);
    if (value && typeof value === "object") {
      return Object.fromEntries(
        Object.entries(value as Record<string, unknown>)
          .map(([k, v]) => [k.toLowerCase(), canonical(v)] as const)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      );
    }
    return value;
  };
  return createHash("sha256")
    .update(JSON.stringify([cmdlet.toLowerCase(), canonical(params)]))
    .digest("base64url")
    .slice(0, 22);
}

export type DecodeResult = { ok: true; continuation: Continuation } | { ok: false; reason: string };

export class SkipTokenCodec {
  constructor(private readonly key: Uint8Array) {}

  encode(continuation: Continuation): string {
    const payload = Buffer.from(JSON.stringify(continuation)).toString("base64url");
    return `${payload}.${this.sign(payload)}`;
  }

  decode(token: string, nowMs: number): DecodeResult {
    const [payload, signature, extra] = token.split(".");
    if (!payload || !signature || extra !== undefined) return { ok: false, reason: "malformed" };
    const expected = Buffer.from(this.sign(payload));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
      return { ok: false, reason: "not issued by this server" };
    }
    let continuation: Continuation;
    try {
      continuation = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Continuation;
    } catch {
      return { ok: false, reason: "malformed" };
    }
    if (nowMs - continuation.issuedMs > SKIPTOKEN_LIFETIME_MS) return { ok: false, reason: "expired" };
    return { ok: true, continuation };
  }

  private sign(payload: string): string {
    return createHmac("sha256", this.key).update(payload).digest("base64url").slice(0, 22);
  }
}

/**
 * A cmdlet's result as a scan over positions 0..size-1; `rowAt` is undefined where nothing matches,
 * and may hand back a row already serialized to JSON (the fast path of large listings).
 */
export interface RowSource {
  size: number;
  rowAt(position: number): Record<string, unknown> | string | undefined;
  /** rows this call may return in total (ResultSize); Infinity for Unlimited */
  limit: number;
  /** warnings for the whole result (e.g. from Set-* cmdlets) */
  warnings?: string[];
}

export interface Page {
  /**
   * The page's rows, already serialized and UTF-8 encoded: row objects die young instead of surviving
   * until the page is sent, and encoding row by row is far cheaper than joining a page of string ropes.
   */
  rows: Buffer[];
  /** position to continue from, when another page exists */
  nextCursor: number | undefined;
  /** true when ResultSize cut the result short while more rows exist */
  truncated: boolean;
}

/**
 * Produce one page from `cursor`, generating only the rows of that page (plus a look-ahead to the next
 * matching row, so a nextLink is only given when there really is more).
 */
export function readPage(source: RowSource, cursor: number, emitted: number, pageSize: number): Page {
  const rows: Buffer[] = [];
  const want = Math.min(pageSize, Math.max(0, source.limit - emitted));
  let position = cursor;
  while (rows.length < want && position < source.size) {
    const row = source.rowAt(position++);
    if (row) rows.push(Buffer.from(typeof row === "string" ? row : JSON.stringify(row), "utf8"));
  }
  // Look ahead for the next matching row without returning it.
  let next: number | undefined;
  for (let p = position; p < source.size; p++) {
    if (source.rowAt(p)) {
      next = p;
      break;
    }
  }
  if (next === undefined) return { rows, nextCursor: undefined, truncated: false };
  if (emitted + rows.length >= source.limit) return { rows, nextCursor: undefined, truncated: true };
  return { rows, nextCursor: next, truncated: false };
}
