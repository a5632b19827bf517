import { defineGroup } from "../../define-command.js";
import { command as usage } from "./usage.js";

/** `exo-cba report ...`: reports over Exchange Online data. */
export const command = defineGroup({
  name: "report",
  description: "reports over Exchange Online data (mailbox usage for backup sizing)",
  examples: [
    "exo-cba report usage",
    "exo-cba report usage --format csv,json,html --out ./reports",
    "exo-cba report usage --all-profiles --concurrency 16 --format html --out /srv/reports",
  ],
  // One file each; add a line here for a new one.
  subcommands: [usage],
});
