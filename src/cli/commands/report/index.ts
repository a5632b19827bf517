import type { Command } from "commander";
import type { CliContext } from "../../context.js";
import { withExamples } from "../../options.js";
import { register as registerUsage } from "./usage.js";

/** The `report` subcommands, one file each; add a line here for a new one. */
const subcommands: Array<(parent: Command, ctx: CliContext) => void> = [registerUsage];

/** `exo-cba report ...`: reports over Exchange Online data. */
export function register(program: Command, ctx: CliContext): void {
  const report = program
    .command("report")
    .description("reports over Exchange Online data (mailbox usage for backup sizing)");
  for (const registerSubcommand of subcommands) registerSubcommand(report, ctx);
  withExamples(report, [
    "exo-cba report usage",
    "exo-cba report usage --format csv,json,html --out ./reports",
    "exo-cba report usage --all-profiles --concurrency 16 --format html --out /srv/reports",
  ]);
}
