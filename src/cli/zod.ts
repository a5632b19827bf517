/**
 * The parts of zod/mini the option schemas use, in one module that `defineCommand` imports when a
 * command runs: a dynamic import keeps every export of its target, so the bundle's zod chunk holds
 * only these (docs/architecture.md "Start-up").
 */

export type { output, ZodMiniType } from "zod/mini";
export {
  array,
  boolean,
  enum,
  NEVER,
  object,
  optional,
  pipe,
  string,
  transform,
} from "zod/mini";
