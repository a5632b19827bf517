/**
 * Rows as callers want them: the wire's type annotations (`X@odata.type`, `X@data.type`) dropped, and
 * every ByteQuantifiedSize string (`"1.2 GB (1,288,490,189 bytes)"`) additionally exposed as a number
 * of bytes under `<Name>Bytes`. `raw: true` skips all of this and returns the wire form.
 *
 * This runs for every row of a million-row stream, so the per-key decisions are made once per row shape
 * (the row's keys in order; every row of a cmdlet's result usually shares one) and kept in a plan: which
 * keys are dropped, and under which name a size's byte count goes. Per row only the values are looked
 * at; a size string is recognised by its suffix and parsed without a regex (docs/invoke.md, `exo-cba invoke`).
 */

const SUFFIX = " bytes)";

/** Bytes of a ByteQuantifiedSize string; undefined for "Unlimited" or anything else. */
export function parseByteQuantifiedSize(value: unknown): number | undefined {
  if (typeof value !== "string" || !value.endsWith(SUFFIX)) return undefined;
  return bytesOf(value);
}

/**
 * `… (1,234 bytes)` → 1234 for a string known to end with " bytes)"; the digits and commas must follow "(".
 * The number is accumulated while the digits are read: no slice, no replaceAll, no Number() of a new
 * string (those three made this the costliest step of normalising a Get-Mailbox row: ~5 µs per row).
 * Exact for up to 15 digits (a mailbox or quota never has more); longer ones are read by Number(), as before.
 */
function bytesOf(value: string): number | undefined {
  const end = value.length - SUFFIX.length;
  let i = end - 1;
  for (; i >= 0; i--) {
    const c = value.charCodeAt(i);
    if ((c >= 48 && c <= 57) || c === 44) continue; // 0-9 or ","
    break;
  }
  if (i < 0 || i === end - 1 || value.charCodeAt(i) !== 40) return undefined; // "(" and at least one digit/comma
  let bytes = 0;
  let digits = 0;
  for (let j = i + 1; j < end; j++) {
    const c = value.charCodeAt(j);
    if (c === 44) continue;
    bytes = bytes * 10 + (c - 48);
    digits++;
  }
  // Beyond 15 digits the sum may round differently from Number(): take Number()'s reading, as before.
  return digits <= 15 ? bytes : Number(value.slice(i + 1, end).replaceAll(",", ""));
}

const isAnnotation = (key: string) =>
  key.includes("@") && (key.endsWith("@odata.type") || key.endsWith("@data.type"));

type Normalizer = (row: Record<string, unknown>) => Record<string, unknown>;

/** What to do with each key of one row shape. */
interface Plan {
  /** The shape: the row's own keys, in their order. */
  keys: string[];
  /** Per key: undefined to drop it (an annotation), else the key itself. */
  kept: Array<string | undefined>;
  /** Per key: the `<key>Bytes` name a size string's byte count goes under, or undefined when the row already has that key. */
  bytesKey: Array<string | undefined>;
  /** The plan as straight-line code (see compile), or the generic loop where code cannot be generated. */
  run: Normalizer;
}

const COMPILE_AFTER = 16;

function buildPlan(keys: string[]): Plan {
  const present = new Set(keys);
  const kept: Array<string | undefined> = [];
  const bytesKey: Array<string | undefined> = [];
  for (const key of keys) {
    const keep = !isAnnotation(key);
    kept.push(keep ? key : undefined);
    const name = `${key}Bytes`;
    bytesKey.push(keep && !present.has(name) ? name : undefined);
  }
  // Interpreted for the first rows of a shape; compiled once the shape repeats (compiling costs ~0.1 ms).
  let uses = 0;
  const plan: Plan = {
    keys,
    kept,
    bytesKey,
    run: (row) => {
      if (++uses === COMPILE_AFTER) plan.run = compile(plan) ?? ((r) => runPlan(plan, r));
      return runPlan(plan, row);
    },
  };
  return plan;
}

/**
 * The plan as a constructor of straight-line property stores with constant names. An object filled through
 * computed names (`out[key] = …`) turns into a hash table after a dozen keys, and JSON.stringify of such
 * objects costs several times more; constant names keep V8's fast layout. A constructor rather than a
 * `{}` filled key by key: V8 learns from the first objects it builds how many properties they get and
 * allocates the next ones with room for all of them, where a literal's backing store would be grown and
 * copied several times per row (measured: half the cost of normalising a 60-key Get-Mailbox row, and less
 * garbage). Its `prototype` is Object.prototype, so the rows stay plain objects. Keys enter the code only
 * as JSON.stringify'd string literals. Returns undefined where the runtime forbids generated code.
 */
function compile(plan: Plan): Normalizer | undefined {
  const lines = ["let v;", "let b;"];
  plan.keys.forEach((_, i) => {
    const key = plan.kept[i];
    if (key === undefined) return;
    const k = JSON.stringify(key);
    const name = plan.bytesKey[i];
    lines.push(`v = row[${k}];`);
    lines.push(`if (typeof v === "string") {`);
    lines.push(`  this[${k}] = v;`);
    if (name !== undefined) {
      lines.push(
        `  if (v.endsWith(SUFFIX)) { b = bytesOf(v); if (b !== undefined) this[${JSON.stringify(name)}] = b; }`,
      );
    }
    lines.push(`} else this[${k}] = v === null || typeof v !== "object" ? v : normalizeValue(v);`);
  });
  try {
    const Row = new Function(
      "SUFFIX",
      "bytesOf",
      "normalizeValue",
      `function Row(row) {\n${lines.join("\n")}\n}\nRow.prototype = Object.prototype;\nreturn Row;`,
    )(SUFFIX, bytesOf, normalizeValue) as new (
      row: Record<string, unknown>,
    ) => Record<string, unknown>;
    return (row) => new Row(row);
  } catch {
    return undefined; // e.g. node --disallow-code-generation-from-strings
  }
}

/** The plan, interpreted: the same stores as compile's code, with computed names. */
function runPlan(plan: Plan, row: Record<string, unknown>): Record<string, unknown> {
  const { keys, kept, bytesKey } = plan;
  const out: Record<string, unknown> = {};
  for (let i = 0; i < keys.length; i++) {
    const key = kept[i];
    if (key === undefined) continue;
    const value = row[key];
    if (typeof value === "string") {
      out[key] = value;
      const name = bytesKey[i];
      if (name !== undefined && value.endsWith(SUFFIX)) {
        const bytes = bytesOf(value);
        if (bytes !== undefined) out[name] = bytes;
      }
    } else {
      out[key] = value === null || typeof value !== "object" ? value : normalizeValue(value);
    }
  }
  return out;
}

/** Plans by shape (keys joined); bounded, for results whose rows (or nested objects) vary in shape. */
const plans = new Map<string, Plan>();
const MAX_PLANS = 512;
let lastPlan: Plan | undefined;

/** The plan of `row`'s shape: the last one used when the keys match in order (the common case), else from the cache. */
function planOf(row: Record<string, unknown>): Plan {
  const last = lastPlan;
  if (last !== undefined) {
    const keys = last.keys;
    let i = 0;
    let same = true;
    for (const key in row) {
      if (keys[i] !== key) {
        same = false;
        break;
      }
      i++;
    }
    if (same && i === keys.length) return last;
  }
  const keys: string[] = [];
  for (const key in row) keys.push(key);
  const id = keys.join("\u0000");
  let plan = plans.get(id);
  if (plan === undefined) {
    if (plans.size >= MAX_PLANS) plans.clear();
    plan = buildPlan(keys);
    plans.set(id, plan);
  }
  lastPlan = plan;
  return plan;
}

export function normalizeValue(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    // Most arrays are lists of strings (EmailAddresses…): keep them as they are, no copy to collect.
    for (const item of value) if (item !== null && typeof item === "object") return value.map(normalizeValue);
    return value;
  }
  return normalizeRow(value as Record<string, unknown>);
}

export function normalizeRow(row: Record<string, unknown>): Record<string, unknown> {
  const plan = planOf(row);
  const out = plan.run(row);
  lastPlan = plan; // a nested object's plan must not displace the row's, which the next row likely shares
  return out;
}
