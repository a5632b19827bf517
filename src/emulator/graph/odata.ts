import { GraphError } from "./errors.js";

/**
 * The OData query subset provisioning needs: `$filter` with `eq` / `in` clauses joined by `and`,
 * `$select`, and `$top` + `$skiptoken` paging with an absolute `@odata.nextLink`.
 */

type Row = Record<string, unknown>;

interface Clause {
  property: string;
  values: string[];
}

const CLAUSE = /^\s*([A-Za-z][A-Za-z0-9]*)\s+(eq|in)\s+(.+?)\s*$/;
const QUOTED = /^'((?:[^']|'')*)'$/;

function unquote(literal: string, property: string, resource: string): string {
  const m = QUOTED.exec(literal.trim());
  if (!m) throw unsupported(property, resource);
  return (m[1] ?? "").replace(/''/g, "'");
}

const unsupported = (property: string, resource: string) =>
  new GraphError(
    400,
    "Request_UnsupportedQuery",
    `Unsupported or invalid query filter clause specified for property '${property}' of resource '${resource}'.`,
  );

/** Parse `$filter`; only the listed properties may be filtered (as Graph's default, non-advanced queries). */
export function parseFilter(filter: string | null, allowed: string[], resource: string): Clause[] {
  if (!filter) return [];
  return filter.split(/\s+and\s+/i).map((part) => {
    const m = CLAUSE.exec(part);
    if (!m) throw new GraphError(400, "BadRequest", `Invalid filter clause: ${part.trim()}`);
    const [, rawProperty = "", op = "", rest = ""] = m;
    const property = allowed.find((a) => a.toLowerCase() === rawProperty.toLowerCase());
    if (!property) throw unsupported(rawProperty, resource);
    if (op.toLowerCase() === "eq") return { property, values: [unquote(rest, property, resource)] };
    const list = /^\((.*)\)$/.exec(rest.trim());
    if (!list) throw unsupported(property, resource);
    const values = (list[1] ?? "").split(",").map((v) => unquote(v, property, resource));
    return { property, values };
  });
}

export function matches(row: Row, clauses: Clause[]): boolean {
  return clauses.every((c) => {
    const v = row[c.property];
    const candidates = Array.isArray(v) ? v : [v];
    return candidates.some(
      (x) => typeof x === "string" && c.values.some((want) => want.toLowerCase() === x.toLowerCase()),
    );
  });
}

/** Keep only the `$select`ed properties (case-insensitive), plus OData annotations. */
export function applySelect(row: Row, select: string | null): Row {
  if (!select) return row;
  const wanted = select
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  const out: Row = {};
  for (const [k, v] of Object.entries(row)) {
    if (k.startsWith("@odata.") || wanted.includes(k.toLowerCase())) out[k] = v;
  }
  return out;
}

export const selects = (select: string | null, property: string) =>
  !!select && select.split(",").some((s) => s.trim().toLowerCase() === property.toLowerCase());

const MAX_TOP = 999;
const DEFAULT_TOP = 100;

/** One page of a collection answer: `value` and, when more remain, `@odata.nextLink`. */
export function page(rows: Row[], url: URL, context: string): Row {
  const topText = url.searchParams.get("$top");
  const top = topText === null ? DEFAULT_TOP : Number(topText);
  if (!Number.isInteger(top) || top < 1 || top > MAX_TOP) {
    throw new GraphError(
      400,
      "Request_BadRequest",
      `Invalid page size specified: '${topText}'. Must be between 1 and ${MAX_TOP} inclusive.`,
    );
  }
  const token = url.searchParams.get("$skiptoken");
  const offset = token ? Number(Buffer.from(token, "base64url").toString("utf8")) : 0;
  if (!Number.isInteger(offset) || offset < 0) {
    throw new GraphError(
      400,
      "Directory_ExpiredPageToken",
      "The specified page token value has expired and can no longer be included in your request.",
    );
  }
  const body: Row = { "@odata.context": context, value: rows.slice(offset, offset + top) };
  if (offset + top < rows.length) {
    const next = new URL(url.href);
    next.searchParams.set("$skiptoken", Buffer.from(String(offset + top)).toString("base64url"));
    body["@odata.nextLink"] = next.href;
  }
  return body;
}
