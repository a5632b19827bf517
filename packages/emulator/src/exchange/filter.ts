/**
 * A small OPATH `-Filter` evaluator: `Prop -eq 'value'`, `-ne`, `-like 'x*'`, `-notlike`, joined with
 * `-and` / `-or` (and binds tighter), optional parentheses. Property names and values compare
 * case-insensitively, as Exchange does; a multi-valued property matches if any element matches.
 * Anything else is refused with the real "Invalid filter syntax" wording rather than guessed at.
 */

import { invalidParameterValue } from "./errors.js";

type Row = Record<string, unknown>;
export type RowPredicate = (row: Row) => boolean;

type Token = { kind: "word" | "string" | "op" | "open" | "close"; text: string; at: number };

const OPERATORS = new Set(["-eq", "-ne", "-like", "-notlike", "-and", "-or"]);

function syntaxError(filter: string, at: number): Error {
  return invalidParameterValue(
    "Filter",
    filter,
    `Invalid filter syntax. For a description of the filter parameter syntax see the command help. "${filter}" at position ${at + 1}.`,
  );
}

function tokenize(filter: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /\s*(?:'((?:[^']|'')*)'|"((?:[^"]|"")*)"|(\()|(\))|(-[A-Za-z]+)|([^\s()'"]+))/y;
  let at = 0;
  while (at < filter.length) {
    if (/^\s*$/.test(filter.slice(at))) break;
    pattern.lastIndex = at;
    const m = pattern.exec(filter);
    if (!m) throw syntaxError(filter, at);
    const start = at + (m[0].length - m[0].trimStart().length);
    if (m[1] !== undefined) tokens.push({ kind: "string", text: m[1].replaceAll("''", "'"), at: start });
    else if (m[2] !== undefined) tokens.push({ kind: "string", text: m[2].replaceAll('""', '"'), at: start });
    else if (m[3]) tokens.push({ kind: "open", text: "(", at: start });
    else if (m[4]) tokens.push({ kind: "close", text: ")", at: start });
    else if (m[5] && OPERATORS.has(m[5].toLowerCase()))
      tokens.push({ kind: "op", text: m[5].toLowerCase(), at: start });
    else if (m[5]) throw syntaxError(filter, start);
    else tokens.push({ kind: "word", text: m[6]!, at: start });
    at = pattern.lastIndex;
  }
  return tokens;
}

function wildcard(pattern: string): RegExp {
  const body = pattern
    .split("*")
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${body}$`, "i");
}

function lookup(row: Row, property: string): unknown {
  if (property in row) return row[property];
  const lower = property.toLowerCase();
  for (const key of Object.keys(row)) if (key.toLowerCase() === lower) return row[key];
  return undefined;
}

function literal(token: Token): string {
  if (token.kind === "string") return token.text;
  // Bare words: $true/$false/$null as the module rewrites them, numbers, enum names.
  const lower = token.text.toLowerCase();
  if (lower === "$true") return "True";
  if (lower === "$false") return "False";
  if (lower === "$null") return "";
  return token.text;
}

function asStrings(value: unknown): string[] {
  if (value === null || value === undefined) return [""];
  if (Array.isArray(value)) return value.map((v) => String(v));
  if (typeof value === "boolean") return [value ? "True" : "False"];
  return [String(value)];
}

/** Compile a filter to a predicate over wire rows; throws a cmdlet error for syntax it does not support. */
export function compileFilter(filter: string): RowPredicate {
  const tokens = tokenize(filter);
  let i = 0;
  const peek = () => tokens[i];

  function comparison(): RowPredicate {
    const open = peek();
    if (open?.kind === "open") {
      i++;
      const inner = disjunction();
      if (peek()?.kind !== "close") throw syntaxError(filter, peek()?.at ?? filter.length);
      i++;
      return inner;
    }
    const property = tokens[i++];
    const op = tokens[i++];
    const value = tokens[i++];
    if (property?.kind !== "word") throw syntaxError(filter, property?.at ?? filter.length);
    if (op?.kind !== "op" || op.text === "-and" || op.text === "-or")
      throw syntaxError(filter, op?.at ?? filter.length);
    if (!value || (value.kind !== "string" && value.kind !== "word"))
      throw syntaxError(filter, value?.at ?? filter.length);
    const name = property.text;
    const expected = literal(value);
    switch (op.text) {
      case "-eq":
        return (row) => asStrings(lookup(row, name)).some((v) => v.toLowerCase() === expected.toLowerCase());
      case "-ne":
        return (row) => !asStrings(lookup(row, name)).some((v) => v.toLowerCase() === expected.toLowerCase());
      case "-like": {
        const re = wildcard(expected);
        return (row) => asStrings(lookup(row, name)).some((v) => re.test(v));
      }
      default: {
        const re = wildcard(expected);
        return (row) => !asStrings(lookup(row, name)).some((v) => re.test(v));
      }
    }
  }

  function conjunction(): RowPredicate {
    let left = comparison();
    while (peek()?.kind === "op" && peek()!.text === "-and") {
      i++;
      const a = left;
      const b = comparison();
      left = (row) => a(row) && b(row);
    }
    return left;
  }

  function disjunction(): RowPredicate {
    let left = conjunction();
    while (peek()?.kind === "op" && peek()!.text === "-or") {
      i++;
      const a = left;
      const b = conjunction();
      left = (row) => a(row) || b(row);
    }
    return left;
  }

  if (tokens.length === 0) throw syntaxError(filter, 0);
  const predicate = disjunction();
  if (i !== tokens.length) throw syntaxError(filter, tokens[i]!.at);
  return predicate;
}
