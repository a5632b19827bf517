import type { Command } from "commander";
import type { CliContext } from "../../context.js";
import { register as registerUsage } from "./usage.js";

/** The `report` subcommands, one file each; add a line here for a new one. */
const subcommands: Array<(parent: Command, ctx: CliContext) => void> = [registerUsage];

/** `exo-cba report ...`: reports over Exchange Online data. */
export function register(program: Command, ctx: CliContext): void {
  const report = program
    .command("report")
    .description("reports over Exchange Online data (mailbox usage for backup sizing)");
  for (const registerSubcommand of subcommands) registerSubcommand(report, ctx);
}
