import { UsageError } from "../errors.js";
import type { CmdletParameters, ParameterValue } from "./serialize.js";

/**
 * PowerShell-style cmdlet arguments from a command line: `-Name value`, `-Switch`, `-Switch:$false`,
 * `-Name:value`, `-List a,b`, `$true`/`$false`/`$null`. Values stay strings (PowerShell binds them by the
 * parameter's type on the server) except `-ResultSize <n>`; a quoted value (quotes that reached us past
 * the shell, e.g. `"'a,b'"`) is one string, never split on commas.
 */
const PARAMETER = /^-([A-Za-z][A-Za-z0-9_]*)(?::([\s\S]*))?$/;
const isParameterToken = (token: string) => /^-[A-Za-z]/.test(token);

function unquote(text: string): string | undefined {
  const m = text.match(/^'([\s\S]*)'$/) ?? text.match(/^"([\s\S]*)"$/);
  return m ? m[1] : undefined;
}

function scalar(text: string): ParameterValue {
  const quoted = unquote(text);
  if (quoted !== undefined) return quoted;
  const lower = text.toLowerCase();
  if (lower === "$true") return true;
  if (lower === "$false") return false;
  if (lower === "$null") return null;
  return text;
}

/** Split on commas outside quotes: `a,'b,c',d` → ["a", "'b,c'", "d"]. */
function splitList(text: string): string[] {
  const parts: string[] = [];
  let current = "";
  let quote: string | undefined;
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = undefined;
      current += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      current += ch;
    } else if (ch === ",") {
      parts.push(current);
      current = "";
    } else current += ch;
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p !== "");
}

export function parseParameterValue(name: string, text: string): ParameterValue {
  if (unquote(text) !== undefined) return unquote(text)!;
  const parts = splitList(text);
  if (parts.length > 1) return parts.map(scalar);
  const value = scalar(parts[0] ?? text);
  if (name.toLowerCase() === "resultsize" && typeof value === "string" && /^\d+$/.test(value))
    return Number(value);
  return value;
}

export function parseCmdletArguments(tokens: string[]): CmdletParameters {
  const params: CmdletParameters = {};
  const seen = new Set<string>();
  const args = tokens.filter((t, i) => !(t === "--" && tokens.indexOf("--") === i));
  for (let i = 0; i < args.length; ) {
    const token = args[i]!;
    const m = token.match(PARAMETER);
    if (!m) {
      throw new UsageError(`Unexpected argument '${token}'.`, {
        hint: "Cmdlet parameters are written PowerShell-style: -Name value, -Switch, -Switch:$false, -List a,b.",
      });
    }
    const name = m[1]!;
    if (seen.has(name.toLowerCase())) throw new UsageError(`The parameter -${name} is given twice.`);
    seen.add(name.toLowerCase());
    if (m[2] !== undefined) {
      params[name] = parseParameterValue(name, m[2]);
      i++;
    } else if (i + 1 < args.length && !isParameterToken(args[i + 1]!)) {
      params[name] = parseParameterValue(name, args[i + 1]!);
      i += 2;
    } else {
      params[name] = true;
      i++;
    }
  }
  return params;
}

/** `--parameters-json '{"Identity":"x"}'`: a JSON object; its keys must not repeat a -Name argument. */
/** Deepest nesting `--parameters-json` may have: real cmdlet parameters nest two or three levels. */
export const MAX_PARAMETERS_JSON_DEPTH = 32;

/** Nesting depth of JSON text ({ and [ outside strings), counted without parsing it. */
export function jsonNestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) deepest = Math.max(deepest, ++depth);
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
}

export function mergeParametersJson(params: CmdletParameters, json: string | undefined): CmdletParameters {
  if (json === undefined) return params;
  // Checked before parsing: serialising a value nested thousands deep would overflow the stack.
  const depth = jsonNestingDepth(json);
  if (depth > MAX_PARAMETERS_JSON_DEPTH) {
    throw new UsageError(
      `--parameters-json is nested ${depth} levels deep; at most ${MAX_PARAMETERS_JSON_DEPTH} are accepted.`,
      { hint: "Cmdlet parameters are values, lists or hashtables a few levels deep; check the JSON." },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    throw new UsageError(`--parameters-json is not valid JSON: ${(error as Error).message}`, {
      hint: `Give a JSON object, e.g. --parameters-json '{"Identity":"adele@contoso.com","ResultSize":"Unlimited"}'.`,
    });
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new UsageError("--parameters-json must be a JSON object of parameter names and values.");
  }
  const out: CmdletParameters = { ...params };
  const names = new Set(Object.keys(params).map((k) => k.toLowerCase()));
  for (const [key, value] of Object.entries(parsed as Record<string, ParameterValue>)) {
    if (names.has(key.toLowerCase()))
      throw new UsageError(`The parameter ${key} is given both as -${key} and in --parameters-json.`);
    out[key] = value;
  }
  return out;
}
