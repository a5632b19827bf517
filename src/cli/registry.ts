import type { Command } from "commander";
/**
 * Every command of the CLI, one file each under ./commands. Command files keep their top-level imports
 * light (commander, zod, small helpers) and import the feature that does the work inside the action,
 * so `exo-cba --version` stays fast.
 */
// -- command imports (keep sorted) --
import { register as registerCert } from "./commands/cert/index.js";
import { register as registerDoctor } from "./commands/doctor.js";
import { register as registerReport } from "./commands/report/index.js";
import { register as registerSchedule } from "./commands/schedule.js";
import type { CliContext } from "./context.js";

export function registerCommands(program: Command, ctx: CliContext): void {
  // -- command registrations (keep sorted) --
  registerCert(program, ctx);
  registerDoctor(program, ctx);
  registerReport(program, ctx);
  registerSchedule(program, ctx);
  void program;
  void ctx;
}
