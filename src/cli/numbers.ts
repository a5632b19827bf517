/**
 * The one way the CLI reads a number from text: a flag's value, or an environment variable such as
 * EXO_HTTP_TIMEOUT. Plain digits (a decimal point only where fractions make sense), surrounding spaces
 * ignored, a range, and one message form: "must be a whole number from 1 to 256, not 'x'."
 * Zod-free, so the network options' environment fallback can use it without loading a schema library.
 */
export interface NumberSpec {
  /** whole numbers only (the default) */
  integer?: boolean;
  /** smallest accepted value (inclusive), default 0 */
  min?: number;
  /** largest accepted value (inclusive), default Number.MAX_SAFE_INTEGER */
  max?: number;
  /** the value must be above 0 (stale days): `min` is then ignored */
  positive?: boolean;
  /** named in the message: "a number of seconds", "a whole number of days" */
  unit?: string;
}

/** The number, or the message (without the flag name) that says what was expected. */
export function parseNumberText(text: string, spec: NumberSpec = {}): number | { error: string } {
  const integer = spec.integer ?? true;
  const min = spec.min ?? 0;
  const max = spec.max ?? Number.MAX_SAFE_INTEGER;
  const trimmed = text.trim();
  const n = Number(trimmed);
  const shape = integer ? /^\d+$/ : /^\d+(\.\d+)?$/;
  const inRange = spec.positive ? n > 0 && n <= max : n >= min && n <= max;
  if (shape.test(trimmed) && Number.isFinite(n) && (!integer || Number.isSafeInteger(n)) && inRange) return n;
  const kind = `${integer ? "a whole number" : "a number"}${spec.unit ? ` of ${spec.unit}` : ""}`;
  const range = spec.positive
    ? `above 0${max < Number.MAX_SAFE_INTEGER ? ` and at most ${max}` : ""}`
    : max < Number.MAX_SAFE_INTEGER
      ? `from ${min} to ${max}`
      : `from ${min} up`;
  return { error: `must be ${kind} ${range}, not '${text}'.` };
}
