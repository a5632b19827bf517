import type { Command } from "commander";
import type { CliContext } from "../../context.js";
import { withExamples } from "../../options.js";
import { register as registerCheck } from "./check.js";
import { register as registerCsr } from "./csr.js";
import { register as registerExport } from "./export.js";
import { register as registerImport } from "./import.js";
import { register as registerList } from "./list.js";
import { register as registerNew } from "./new.js";
import { register as registerRemove } from "./remove.js";
import { register as registerRevoke } from "./revoke.js";
import { register as registerRotate } from "./rotate.js";
import { register as registerShow } from "./show.js";

/** The `cert` subcommands, one file each; add a line here for a new one. */
const subcommands: Array<(parent: Command, ctx: CliContext) => void> = [
  registerNew,
  registerCsr,
  registerImport,
  registerList,
  registerShow,
  registerExport,
  registerRemove,
  registerCheck,
  registerRotate,
  registerRevoke,
];

/** `exo-cba cert ...`: create, request, import, list, show, export and remove certificates of the local store. */
export function register(program: Command, ctx: CliContext): void {
  const cert = program
    .command("cert")
    .description(
      "certificates for app-only sign-in: create, request from a CA, import, export, list, remove",
    );
  for (const registerSubcommand of subcommands) registerSubcommand(cert, ctx);
  withExamples(cert, [
    "exo-cba cert new --dns-name contoso.onmicrosoft.com",
    "exo-cba cert list",
    "exo-cba cert export <thumbprint> --pfx ./exo.pfx --password-file ./pfx-password.txt",
    "exo-cba cert check --warn-days 30",
    "exo-cba cert rotate --profile contoso",
  ]);
}
