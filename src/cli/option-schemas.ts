/**
 * Schemas for command-line option values (zod/mini: small, so a command's registration stays cheap; see
 * docs/architecture.md "Start-up"). Commander hands over strings, booleans and string lists; each schema
 * turns them into the typed value a command's `run` receives. Messages name what was expected; the flag
 * is put in front by `defineCommand` ("--warn-days must be a whole number from 0 to 36500, not 'x'.").
 */
import * as z from "zod/mini";
import { type NumberSpec, parseNumberText } from "./numbers.js";

export type Schema<T = unknown> = z.ZodMiniType<T, unknown>;

/** A schema that reads text with `parse`, which returns the value or `{ error }`. */
export function fromText<T>(parse: (text: string) => T | { error: string }) {
  return z.pipe(
    z.string(),
    z.transform((text: string, payload) => {
      const out = parse(text);
      if (out !== null && typeof out === "object" && "error" in (out as object)) {
        payload.issues.push({ code: "custom", message: (out as { error: string }).error, input: text });
        return z.NEVER;
      }
      return out as T;
    }),
  );
}

/** Free text (a name, a path, a GUID checked later by the feature). */
export const text = () => z.optional(z.string());

/** Optional text that, when given, is not blank. */
export const nonEmpty = () =>
  z.optional(fromText((t) => (t.trim() === "" ? { error: "needs a value." } : t)));

/** Text that must be given (a declared default or a required option makes sure it is). */
export const requiredText = () => z.string();

/** A switch: true when given. */
export const flag = () =>
  z.pipe(
    z.optional(z.boolean()),
    z.transform((v) => v === true),
  );

/** `--no-x`: commander sets true by default and false when `--no-x` is given. */
export const negatable = () =>
  z.pipe(
    z.optional(z.boolean()),
    z.transform((v) => v !== false),
  );

/** A number read the one way (src/cli/numbers.ts). */
export const number = (spec: NumberSpec = {}) => fromText((t) => parseNumberText(t, spec));

/** One of fixed values; commander lists them in --help and refuses others (the schema is the source). */
export const oneOf = <const T extends readonly [string, ...string[]]>(values: T) => z.enum(values);

/** A calendar date or timestamp, e.g. 2027-06-30. */
export const date = () =>
  fromText((t) => {
    const ms = Date.parse(t);
    return Number.isNaN(ms)
      ? { error: `'${t}' is not a date (use ISO form, e.g. 2027-06-30).` }
      : new Date(ms);
  });

/** `300`, `300s`, `5m`, `1h`, `250ms` → milliseconds (above 0). */
export function parseDuration(value: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/i.exec(value.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? "s").toLowerCase();
  const factor = unit === "ms" ? 1 : unit === "s" ? 1000 : unit === "m" ? 60_000 : 3_600_000;
  const ms = Math.round(n * factor);
  return ms > 0 ? ms : undefined;
}

export const duration = () =>
  fromText((t) => parseDuration(t) ?? { error: `'${t}' is not a duration (use e.g. 300s, 5m or 1h).` });

/** The words of a variadic argument (`<command...>`, `[parameters...]`). */
export const words = () =>
  z.pipe(
    z.optional(z.array(z.string())),
    z.transform((v) => v ?? []),
  );

export const optional = z.optional;
export { z };
