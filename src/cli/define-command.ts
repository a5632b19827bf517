/**
 * One way to write a command (docs/architecture.md "CLI conventions"): a declaration whose options are
 * schemas, from which come both the typed options `run` receives and commander's options (flags, help
 * text, defaults, choices); `run` returns data, and rendering happens here at the edge with
 * src/cli/render.ts. Commander stays the parser; a value the schema refuses is a UsageError (exit 2).
 *
 * Declaring and registering commands builds no schema and loads no zod: the option recipes
 * (option-schemas.ts) become zod/mini schemas when their command runs (docs/architecture.md "Start-up").
 */
import { type Command, Option } from "commander";
import { UsageError } from "../errors.js";
import type { Session } from "../session/session.js";
import type { CliContext } from "./context.js";
import type { Output, Schema, SchemaRecipe, Zod } from "./option-schemas.js";
import type { OutputFormat } from "./render.js";

/** One option: its commander flags and help line, and the schema its value must pass. */
export interface OptionSpec<R extends SchemaRecipe = SchemaRecipe> {
  flags: string;
  description: string;
  schema: R;
  /** The default as it would be typed on the command line (shown in --help, parsed like a typed value). */
  default?: string;
  /** commander's requiredOption: the flag must be given. */
  required?: boolean;
}

export function option<R extends SchemaRecipe>(
  flags: string,
  description: string,
  schema: R,
  extra: { default?: string; required?: boolean } = {},
): OptionSpec<R> {
  return { flags, description, schema, ...extra };
}

/** One positional argument, `<name>`, `[name]`, `<name...>` or `[name...]`. */
export interface ArgumentSpec<R extends SchemaRecipe = SchemaRecipe> {
  syntax: string;
  description: string;
  schema: R;
}

export function argument<R extends SchemaRecipe>(
  syntax: string,
  description: string,
  schema: R,
): ArgumentSpec<R> {
  return { syntax, description, schema };
}

type OptionSpecs = Record<string, OptionSpec>;
type ArgumentSpecs = Record<string, ArgumentSpec>;

/** The typed options (and arguments) a command's `run` receives. */
export type Parsed<O extends Record<string, { schema: SchemaRecipe }>> = {
  [K in keyof O]: Output<O[K]["schema"]>;
};

/**
 * What a command may ask for: `exchange` and `admin` get a session (one transport, connections and
 * token providers built from one validated connection, closed after the command); `none` works offline.
 */
export type Needs = "exchange" | "admin" | "none";

export interface RunContext extends CliContext {
  /** The commander command (raw arguments, for invoke's PowerShell-style tail). */
  readonly command: Command;
  /** The command's session; created on first use, closed when the command ends. */
  session(): Promise<Session>;
}

export interface CommandSpec<O extends OptionSpecs, A extends ArgumentSpecs, D> {
  name: string;
  /** Shown by `--help`; the first clause is the one-line summary in command lists. */
  description: string;
  /** At least one command line, without the `$ `. */
  examples: string[];
  arguments?: A;
  options: O;
  needs: Needs;
  /** Commander settings the declaration cannot express (invoke's unknown options). */
  configure?: (cmd: Command, ctx: CliContext) => void;
  /** The work: returns data (no printing of results; progress and warnings go to ctx.stderr). */
  run(ctx: RunContext, opts: Parsed<O> & Parsed<A>): Promise<D> | D;
  /**
   * Print the data (default: `--output` as rows or one object, via src/cli/render.ts) and decide the
   * outcome: a render may throw the typed error that sets the exit code (doctor's 8, invoke's 7).
   */
  render?: (data: D, opts: Parsed<O> & Parsed<A>, ctx: RunContext) => Promise<void> | void;
}

/** A command as the registry and the command tree test see it. */
export interface DefinedCommand {
  readonly kind: "command";
  readonly name: string;
  readonly needs: Needs;
  readonly examples: readonly string[];
  /** The zod object schema over every option and argument (built, and zod loaded, on first call). */
  schema(): Promise<Schema<Record<string, unknown>> & { shape: Record<string, Schema> }>;
  readonly options: Readonly<OptionSpecs>;
  readonly arguments: Readonly<ArgumentSpecs>;
  register(parent: Command, ctx: CliContext): Command;
  /** Validate raw values (as commander gives them) and run; what `run` returned. */
  execute(ctx: RunContext, raw: Record<string, unknown>): Promise<unknown>;
}

/** A command group (`cert`, `report`): a name, help and its subcommands. */
export interface CommandGroup {
  readonly kind: "group";
  readonly name: string;
  readonly examples: readonly string[];
  readonly subcommands: readonly DefinedCommand[];
  register(parent: Command, ctx: CliContext): Command;
}

/** Append an "Examples:" block to a command's --help. */
function addExamples(cmd: Command, examples: readonly string[]): void {
  cmd.addHelpText("after", `\nExamples:\n${examples.map((e) => `  $ ${e}`).join("\n")}\n`);
}

/** The flag a schema key belongs to, for messages: `warnDays` → `--warn-days`. */
function flagOf(spec: OptionSpec): string {
  return new Option(spec.flags).long ?? spec.flags;
}

/** Turn a schema failure into the usage error users see: the flag (or argument) and what was expected. */
function usageErrorFrom(
  error: { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }> },
  options: OptionSpecs,
  args: ArgumentSpecs,
): UsageError {
  const issue = error.issues[0];
  const key = String(issue?.path[0] ?? "");
  const where = options[key] ? flagOf(options[key]) : args[key] ? args[key].syntax : key;
  const message = issue?.message ?? "is not valid.";
  return new UsageError(`${where} ${message}`);
}

export function defineCommand<
  O extends OptionSpecs,
  A extends ArgumentSpecs = Record<never, never>,
  D = unknown,
>(spec: CommandSpec<O, A, D>): DefinedCommand {
  const args = (spec.arguments ?? {}) as A;
  let built: ReturnType<DefinedCommand["schema"]> | undefined;
  const schema = () => {
    built ??= loadZod().then((z) => {
      const shape: Record<string, Schema> = {};
      for (const [key, o] of Object.entries(spec.options)) shape[key] = o.schema.build(z);
      for (const [key, a] of Object.entries(args)) shape[key] = a.schema.build(z);
      return z.object(shape);
    });
    return built;
  };

  const execute = async (ctx: RunContext, raw: Record<string, unknown>): Promise<unknown> => {
    const parsed = (await schema()).safeParse(raw);
    if (!parsed.success) throw usageErrorFrom(parsed.error, spec.options, args);
    const opts = parsed.data as Parsed<O> & Parsed<A>;
    const data = await spec.run(ctx, opts);
    if (spec.render) await spec.render(data, opts, ctx);
    else await renderDefault(data, (opts as { output?: unknown }).output, ctx);
    return data;
  };

  return {
    kind: "command",
    name: spec.name,
    needs: spec.needs,
    examples: spec.examples,
    schema,
    options: spec.options,
    arguments: args,
    execute,
    register(parent: Command, ctx: CliContext): Command {
      const cmd = parent.command(spec.name).description(spec.description);
      for (const a of Object.values(args)) cmd.argument(a.syntax, a.description);
      for (const [key, o] of Object.entries(spec.options)) {
        const opt = new Option(o.flags, o.description);
        if (opt.attributeName() !== key) {
          throw new Error(`option ${o.flags} of '${spec.name}' is declared as '${key}'`);
        }
        if (o.schema.choices) opt.choices(o.schema.choices);
        if (o.default !== undefined) opt.default(o.default);
        if (o.required) opt.makeOptionMandatory();
        cmd.addOption(opt);
      }
      spec.configure?.(cmd, ctx);
      addExamples(cmd, spec.examples);
      const argKeys = Object.keys(args);
      cmd.action(async (...values: unknown[]) => {
        const raw: Record<string, unknown> = { ...cmd.opts() };
        argKeys.forEach((key, i) => {
          raw[key] = values[i];
        });
        await runWithSession(ctx, cmd, spec.needs, (runCtx) => execute(runCtx, raw));
      });
      return cmd;
    },
  };
}

/** zod/mini, loaded when the first command runs (its own chunk in the bundle). */
function loadZod(): Promise<Zod> {
  return import("./zod.js");
}

export function defineGroup(spec: {
  name: string;
  description: string;
  examples: string[];
  subcommands: DefinedCommand[];
}): CommandGroup {
  return {
    kind: "group",
    name: spec.name,
    examples: spec.examples,
    subcommands: spec.subcommands,
    register(parent: Command, ctx: CliContext): Command {
      const group = parent.command(spec.name).description(spec.description);
      for (const sub of spec.subcommands) sub.register(group, ctx);
      addExamples(group, spec.examples);
      return group;
    },
  };
}

/** A RunContext over `ctx`; the session (when the command needs one) is closed however the run ends. */
export async function runWithSession<T>(
  ctx: CliContext,
  command: Command,
  needs: Needs,
  fn: (runCtx: RunContext) => Promise<T>,
): Promise<T> {
  let session: Promise<Session> | undefined;
  const runCtx: RunContext = Object.assign(Object.create(ctx) as CliContext, {
    command,
    session: (): Promise<Session> => {
      if (needs === "none") throw new Error("a command that needs 'none' has no session");
      session ??= import("../session/session.js").then(
        ({ createSession }) =>
          createSession({
            env: ctx.env,
            interactive: ctx.interactive,
            ...(ctx.logger ? { logger: ctx.logger } : {}),
            onMessage: (text: string) => ctx.stderr.write(`${text}\n`),
          }) as Session,
      );
      return session;
    },
  });
  try {
    return await fn(runCtx);
  } finally {
    if (session) (await session).close();
  }
}

/**
 * With an `--output` option: rows (an array or a stream) as rows, anything else as one object. A command
 * without one renders in its own `render`.
 */
async function renderDefault(data: unknown, output: unknown, ctx: RunContext): Promise<void> {
  if (data === undefined || data === null || output === undefined) return;
  const { renderObject, renderRows } = await import("./render.js");
  const format = (typeof output === "string" ? output : "table") as OutputFormat;
  if (Array.isArray(data) || (typeof data === "object" && Symbol.asyncIterator in data)) {
    await renderRows(data as Array<Record<string, unknown>>, format, ctx.stdout);
  } else renderObject(data as Record<string, unknown>, format, ctx.stdout);
}
