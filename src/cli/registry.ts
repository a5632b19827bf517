import type { Command } from "commander";
/**
 * Every command of the CLI, one file each under ./commands. Command files keep their top-level imports
 * light (commander, zod, small helpers) and import the feature that does the work inside the action,
 * so `exo-cba --version` stays fast.
 */
// -- command imports (keep sorted) --
import { register as registerCert } from "./commands/cert/index.js";
import { register as registerDemo } from "./commands/demo.js";
import { register as registerDoctor } from "./commands/doctor.js";
import { register as registerEmulator } from "./commands/emulator.js";
import { register as registerInvoke } from "./commands/invoke.js";
import { register as registerReport } from "./commands/report/index.js";
import { register as registerSchedule } from "./commands/schedule.js";
import { register as registerSetup } from "./commands/setup.js";
import { register as registerTeardown } from "./commands/teardown.js";
import { register as registerTest } from "./commands/test.js";
import { register as registerToken } from "./commands/token.js";
import type { CliContext } from "./context.js";

export function registerCommands(program: Command, ctx: CliContext): void {
  // -- command registrations (keep sorted) --
  registerCert(program, ctx);
  registerDemo(program, ctx);
  registerDoctor(program, ctx);
  registerEmulator(program, ctx);
  registerInvoke(program, ctx);
  registerReport(program, ctx);
  registerSchedule(program, ctx);
  registerSetup(program, ctx);
  registerTeardown(program, ctx);
  registerTest(program, ctx);
  registerToken(program, ctx);
}
