/**
 * Schemas for command-line option values (zod/mini). Commander hands over strings, booleans and string
 * lists; each schema turns them into the typed value a command's `run` receives. Messages name what was
 * expected; `defineCommand` puts the flag in front ("--warn-days must be a whole number from 0 to 36500,
 * not 'x'."). A parser may also throw a UsageError of its own, with a hint.
 *
 * Declared, not built: each builder returns a recipe that `defineCommand` turns into a zod schema only
 * when its command runs, so loading and registering commands (every `--help`) never loads or runs zod
 * (docs/architecture.md "Start-up"). Fixed choices are kept beside the recipe, for commander's --help.
 */

import { type NumberSpec, parseNumberText } from "./numbers.js";
import type * as Z from "./zod.js";

export type Zod = typeof Z;
export type Schema<T = unknown> = Z.ZodMiniType<T, unknown>;

/** A schema to build on first use, with the fixed values it accepts (if any). */
export interface SchemaRecipe<S extends Schema = Schema> {
  readonly choices?: readonly string[];
  build(z: Zod): S;
}

/** The value type a recipe's schema yields. */
export type Output<R extends SchemaRecipe> = Z.output<ReturnType<R["build"]>>;

function recipe<S extends Schema>(build: (z: Zod) => S, choices?: readonly string[]): SchemaRecipe<S> {
  let built: S | undefined;
  return {
    ...(choices ? { choices } : {}),
    build: (z) => {
      built ??= build(z);
      return built;
    },
  };
}

/** A value read from text with `parse`, which returns the value or `{ error }` (or throws a UsageError). */
export function fromText<T>(parse: (text: string) => T | { error: string }) {
  return recipe((z) =>
    z.pipe(
      z.string(),
      z.transform((text: string, payload) => {
        const out = parse(text);
        if (out !== null && typeof out === "object" && "error" in (out as object)) {
          payload.issues.push({ code: "custom", message: (out as { error: string }).error, input: text });
          return z.NEVER;
        }
        return out as T;
      }),
    ),
  );
}

/** Free text (a name, a path, a GUID checked later by the feature); undefined when not given. */
export const text = () => recipe((z) => z.optional(z.string()));

/** Text that is always there (a declared default or a required option makes sure of it). */
export const requiredText = () => recipe((z) => z.string());

/** Optional text that, when given, is not blank. */
export const nonEmpty = () => optional(fromText((t) => (t.trim() === "" ? { error: "needs a value." } : t)));

/** A switch: true when given. */
export const flag = () =>
  recipe((z) =>
    z.pipe(
      z.optional(z.boolean()),
      z.transform((v) => v === true),
    ),
  );

/** `--no-x`: commander sets true by default and false when `--no-x` is given. */
export const negatable = () =>
  recipe((z) =>
    z.pipe(
      z.optional(z.boolean()),
      z.transform((v) => v !== false),
    ),
  );

/** A number read the one way (src/cli/numbers.ts). */
export const number = (spec: NumberSpec = {}) => fromText((t) => parseNumberText(t, spec));

/** One of fixed values; commander lists them in --help and refuses others. */
export const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  recipe((z) => z.enum(values), values);

/** The same, or undefined when not given. */
export function optional<S extends Schema>(inner: SchemaRecipe<S>) {
  return recipe((z) => z.optional(inner.build(z)), inner.choices);
}

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
  recipe((z) =>
    z.pipe(
      z.optional(z.array(z.string())),
      z.transform((v) => v ?? []),
    ),
  );
