import { GraphError } from "./errors.js";

/**
 * The OData query subset Graph documents for directory objects (docs/emulator.md, "$filter"):
 * `$filter` with `eq`, `in`, `startswith(p,'…')`, `coll/any(c:c eq '…')`, `and`/`or`/parentheses, and,
 * only as an advanced query (`ConsistencyLevel: eventual` + `$count=true`), `ne`, `not(…)` and
 * `endswith`; `$select`; `$top` + `$skiptoken` paging with an absolute `@odata.nextLink`; `$count`.
 */

type Row = Record<string, unknown>;

/** What a property's `$filter` may use, as the resource's reference page lists it. */
export type FilterOp = "eq" | "in" | "startsWith" | "any" | "ne" | "not" | "endsWith";
export type FilterSpec = Record<string, FilterOp[]>;

type Literal = string | boolean | null;
export type FilterExpr =
  | { kind: "and" | "or"; left: FilterExpr; right: FilterExpr }
  | { kind: "not"; expr: FilterExpr }
  | { kind: "cmp"; op: "eq" | "ne"; property: string; value: Literal }
  | { kind: "in"; property: string; values: Literal[] }
  | { kind: "fn"; fn: "startsWith" | "endsWith"; property: string; value: string }
  | { kind: "any"; property: string; fn: "eq" | "startsWith"; value: string };

/** Operators that need an advanced query (Graph's aad-advanced-queries page). */
const ADVANCED_OPS = new Set<FilterOp>(["ne", "not", "endsWith"]);

const unsupported = (property: string, resource: string) =>
  new GraphError(
    400,
    "Request_UnsupportedQuery",
    `Unsupported or invalid query filter clause specified for property '${property}' of resource '${resource}'.`,
  );
const needsAdvanced = (op: string) =>
  new GraphError(
    400,
    "Request_UnsupportedQuery",
    `Operator '${op}' is not supported because the 'ConsistencyLevel:eventual' header is missing. Refer to https://aka.ms/graph-docs/advanced-queries for more information`,
  );
const syntax = (filter: string) =>
  new GraphError(400, "BadRequest", `Invalid filter clause: ${filter.trim()}`);

type Token = { t: "str"; v: string } | { t: "word"; v: string } | { t: "punct"; v: string };

function tokenize(filter: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < filter.length) {
    const c = filter[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      let v = "";
      i++;
      for (;;) {
        if (i >= filter.length) throw syntax(filter);
        if (filter[i] === "'") {
          if (filter[i + 1] === "'") {
            v += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        v += filter[i];
        i++;
      }
      out.push({ t: "str", v });
    } else if ("(),:".includes(c)) {
      out.push({ t: "punct", v: c });
      i++;
    } else {
      const m = /^[A-Za-z0-9_.\-/@$]+/.exec(filter.slice(i));
      if (!m) throw syntax(filter);
      out.push({ t: "word", v: m[0] });
      i += m[0].length;
    }
  }
  return out;
}

/**
 * Parse `$filter` against the properties and operators the resource documents; undefined for no
 * filter. An undocumented property or operator is 400 `Request_UnsupportedQuery` as Graph answers it;
 * `ne`/`not`/`endswith` only in an advanced query.
 */
export function parseFilter(
  filter: string | null,
  spec: FilterSpec | string[],
  resource: string,
  advanced = false,
): FilterExpr | undefined {
  if (!filter?.trim()) return undefined;
  const allowed: FilterSpec = Array.isArray(spec)
    ? Object.fromEntries(spec.map((p) => [p, ["eq", "in"] as FilterOp[]]))
    : spec;
  const tokens = tokenize(filter);
  let pos = 0;
  const peek = () => tokens[pos];
  const word = (v: string) => {
    const tk = peek();
    return tk?.t === "word" && tk.v.toLowerCase() === v;
  };
  const punct = (v: string) => {
    const tk = tokens[pos++];
    if (tk?.t !== "punct" || tk.v !== v) throw syntax(filter);
  };
  const check = (rawProperty: string, op: FilterOp): string => {
    const property = Object.keys(allowed).find((p) => p.toLowerCase() === rawProperty.toLowerCase());
    if (!property || !allowed[property]!.includes(op)) throw unsupported(rawProperty, resource);
    if (ADVANCED_OPS.has(op) && !advanced) throw needsAdvanced(op === "not" ? "Not" : op);
    return property;
  };
  const literal = (): Literal => {
    const tk = tokens[pos++];
    if (tk?.t === "str") return tk.v;
    if (tk?.t === "word" && ["true", "false", "null"].includes(tk.v.toLowerCase())) {
      const v = tk.v.toLowerCase();
      return v === "null" ? null : v === "true";
    }
    throw syntax(filter);
  };
  const string = (): string => {
    const v = literal();
    if (typeof v !== "string") throw syntax(filter);
    return v;
  };
  const name = (): string => {
    const tk = tokens[pos++];
    if (tk?.t !== "word") throw syntax(filter);
    return tk.v;
  };

  const primary = (): FilterExpr => {
    const tk = peek();
    if (tk?.t === "punct" && tk.v === "(") {
      pos++;
      const e = orExpr();
      punct(")");
      return e;
    }
    if (word("not")) {
      pos++;
      const inner = primary();
      const props = propertiesOf(inner);
      for (const p of props) check(p, "not");
      return { kind: "not", expr: inner };
    }
    const head = name();
    const fn = head.toLowerCase();
    if ((fn === "startswith" || fn === "endswith") && peek()?.t === "punct") {
      punct("(");
      const raw = name();
      punct(",");
      const value = string();
      punct(")");
      const op = fn === "startswith" ? "startsWith" : "endsWith";
      return { kind: "fn", fn: op, property: check(raw, op), value };
    }
    const any = /^([A-Za-z][A-Za-z0-9]*)\/any$/i.exec(head);
    if (any) {
      const property = check(any[1]!, "any");
      punct("(");
      const variable = name();
      punct(":");
      let lambda: { fn: "eq" | "startsWith"; value: string };
      if (word("startswith")) {
        pos++;
        punct("(");
        if (name() !== variable) throw syntax(filter);
        punct(",");
        lambda = { fn: "startsWith", value: string() };
        punct(")");
      } else {
        if (name() !== variable) throw syntax(filter);
        if (!word("eq")) throw unsupported(property, resource);
        pos++;
        lambda = { fn: "eq", value: string() };
      }
      punct(")");
      return { kind: "any", property, ...lambda };
    }
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(head)) throw unsupported(head, resource);
    const opToken = name().toLowerCase();
    if (opToken === "eq" || opToken === "ne") {
      return { kind: "cmp", op: opToken, property: check(head, opToken), value: literal() };
    }
    if (opToken === "in") {
      const property = check(head, "in");
      punct("(");
      const values: Literal[] = [literal()];
      while (peek()?.t === "punct" && peek()?.v === ",") {
        pos++;
        values.push(literal());
      }
      punct(")");
      return { kind: "in", property, values };
    }
    // ge, le, gt, lt, has ... are not documented for these resources
    throw unsupported(head, resource);
  };
  const andExpr = (): FilterExpr => {
    let left = primary();
    while (word("and")) {
      pos++;
      left = { kind: "and", left, right: primary() };
    }
    return left;
  };
  const orExpr = (): FilterExpr => {
    let left = andExpr();
    while (word("or")) {
      pos++;
      left = { kind: "or", left, right: andExpr() };
    }
    return left;
  };
  const expr = orExpr();
  if (pos !== tokens.length) throw syntax(filter);
  return expr;
}

function propertiesOf(e: FilterExpr): string[] {
  switch (e.kind) {
    case "and":
    case "or":
      return [...propertiesOf(e.left), ...propertiesOf(e.right)];
    case "not":
      return propertiesOf(e.expr);
    default:
      return [e.property];
  }
}

/** Directory string comparisons are case-insensitive. */
const same = (a: unknown, b: Literal) =>
  typeof a === "string" && typeof b === "string" ? a.toLowerCase() === b.toLowerCase() : a === b;
const lower = (v: unknown) => (typeof v === "string" ? v.toLowerCase() : undefined);

export function matches(row: Row, filter: FilterExpr | undefined): boolean {
  if (!filter) return true;
  switch (filter.kind) {
    case "and":
      return matches(row, filter.left) && matches(row, filter.right);
    case "or":
      return matches(row, filter.left) || matches(row, filter.right);
    case "not":
      return !matches(row, filter.expr);
    case "cmp": {
      const equal = same(row[filter.property] ?? null, filter.value);
      return filter.op === "eq" ? equal : !equal;
    }
    case "in":
      return filter.values.some((v) => same(row[filter.property] ?? null, v));
    case "fn": {
      const v = lower(row[filter.property]);
      const want = filter.value.toLowerCase();
      return v !== undefined && (filter.fn === "startsWith" ? v.startsWith(want) : v.endsWith(want));
    }
    case "any": {
      const list = row[filter.property];
      if (!Array.isArray(list)) return false;
      const want = filter.value.toLowerCase();
      return list.some((x) => {
        const v = lower(x);
        return v !== undefined && (filter.fn === "eq" ? v === want : v.startsWith(want));
      });
    }
  }
}

/** Whether the request is an advanced query: `ConsistencyLevel: eventual` (with `$count=true` or `/$count`). */
export function isAdvancedQuery(header: string | undefined, url: URL): boolean {
  const eventual = (header ?? "").trim().toLowerCase() === "eventual";
  const count = url.searchParams.get("$count")?.toLowerCase() === "true" || url.pathname.endsWith("/$count");
  return eventual && count;
}

/**
 * `$count=true` needs `ConsistencyLevel: eventual` on directory objects. Graph's advanced-queries page
 * shows this 400 for `/$count` and says `?$count=true` without the header fails or is ignored; the
 * emulator fails (docs/emulator.md, "$filter and $count").
 */
export function checkCount(header: string | undefined, url: URL): boolean {
  const asked = url.searchParams.get("$count");
  if (asked === null) return false;
  if (asked.toLowerCase() !== "true" && asked.toLowerCase() !== "false") {
    throw new GraphError(400, "BadRequest", `Invalid value '${asked}' for the $count query option.`);
  }
  if (asked.toLowerCase() === "false") return false;
  if ((header ?? "").trim().toLowerCase() !== "eventual") {
    throw new GraphError(400, "Request_BadRequest", "$count is not currently supported.");
  }
  return true;
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
