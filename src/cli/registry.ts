import type { Command } from "commander";
import type { CliContext } from "./context.js";
import type { CommandGroup, DefinedCommand } from "./define-command.js";

/**
 * Every command of the CLI, one file each under ./commands, loaded on demand: a command line loads only
 * the command it names (`--version` none, `--help` or an unknown name all of them), which keeps start-up
 * close to bare Node (docs/architecture.md, "Start-up"). Command files keep their top-level imports light
 * too and import the feature that does the work inside the action.
 */
type CommandModule = { command: DefinedCommand | CommandGroup };
export const commandLoaders: Record<string, () => Promise<CommandModule>> = {
  // -- command loaders (keep sorted) --
  cert: () => import("./commands/cert/index.js"),
  demo: () => import("./commands/demo.js"),
  doctor: () => import("./commands/doctor.js"),
  emulator: () => import("./commands/emulator.js"),
  invoke: () => import("./commands/invoke.js"),
  report: () => import("./commands/report/index.js"),
  schedule: () => import("./commands/schedule.js"),
  setup: () => import("./commands/setup.js"),
  teardown: () => import("./commands/teardown.js"),
  test: () => import("./commands/test.js"),
  token: () => import("./commands/token.js"),
};

/** Register `names` (default: every command), in the order of `commandLoaders`. */
export async function registerCommands(
  program: Command,
  ctx: CliContext,
  names: readonly string[] = Object.keys(commandLoaders),
): Promise<void> {
  const wanted = Object.keys(commandLoaders).filter((name) => names.includes(name));
  const modules = await Promise.all(wanted.map((name) => commandLoaders[name]!()));
  for (const module of modules) module.command.register(program, ctx);
}

/** Global options that take a value in the next argument (so that value is not a command name). */
const GLOBAL_OPTIONS_WITH_VALUE = new Set(["--log-format", "--log-file"]);

/**
 * The commands a command line needs: the one it names; none for a bare `--version`; all of them for
 * help, no command, or a name that is not a command (so commander can list them or suggest one).
 */
export function commandsFor(argv: readonly string[]): string[] {
  const all = Object.keys(commandLoaders);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") break;
    if (GLOBAL_OPTIONS_WITH_VALUE.has(arg)) {
      i++;
      continue;
    }
    if (arg.startsWith("-")) continue;
    return arg in commandLoaders ? [arg] : all;
  }
  const helpOrNothing = argv.length === 0 || argv.some((a) => a === "-h" || a === "--help");
  const version = argv.some((a) => a === "-V" || a === "--version");
  return version && !helpOrNothing ? [] : all;
}
