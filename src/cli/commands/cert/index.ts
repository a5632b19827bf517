import { defineGroup } from "../../define-command.js";
import { command as check } from "./check.js";
import { command as csr } from "./csr.js";
import { command as exportCommand } from "./export.js";
import { command as importCommand } from "./import.js";
import { command as list } from "./list.js";
import { command as newCommand } from "./new.js";
import { command as remove } from "./remove.js";
import { command as revoke } from "./revoke.js";
import { command as rotate } from "./rotate.js";
import { command as show } from "./show.js";

/** `exo-cba cert ...`: create, request, import, list, show, export and remove certificates of the local store. */
export const command = defineGroup({
  name: "cert",
  description: "certificates for app-only sign-in: create, request from a CA, import, export, list, remove",
  examples: [
    "exo-cba cert new --dns-name contoso.onmicrosoft.com",
    "exo-cba cert list",
    "exo-cba cert export <thumbprint> --pfx ./exo.pfx --password-file ./pfx-password.txt",
    "exo-cba cert check --warn-days 30",
    "exo-cba cert rotate --profile contoso",
  ],
  // One file each; add a line here for a new one (the order of `cert --help`).
  subcommands: [newCommand, csr, importCommand, list, show, exportCommand, remove, check, rotate, revoke],
});
