import { stateHome } from "../../../config/home.js";
import { outputOption } from "../../common-options.js";
import { argument, defineCommand } from "../../define-command.js";
import { requiredText } from "../../option-schemas.js";

/** `exo-cba cert remove THUMBPRINT [--yes]`: delete a certificate and its key from the store. */
export const command = defineCommand({
  name: "remove",
  description: "remove a certificate and its private key from the local store (asks first; --yes to skip)",
  examples: ["exo-cba cert remove 3F2A...C9", "exo-cba cert remove 3F2A...C9 --yes"],
  arguments: { thumbprint: argument("<thumbprint>", "SHA-1 (or SHA-256) thumbprint", requiredText()) },
  options: { ...outputOption() },
  needs: "none",
  async run(ctx, opts) {
    const { CertStore } = await import("../../../cert/store.js");
    const { readProfiles } = await import("../../../config/profiles.js");
    const { confirm } = await import("../../prompt.js");
    const store = await CertStore.open(stateHome(ctx.env), ctx.env);
    const info = await store.get(opts.thumbprint);
    const users = Object.values((await readProfiles(stateHome(ctx.env))).profiles)
      .filter((p) => p.certificateThumbprint?.replace(/[\s:]/g, "").toUpperCase() === info.thumbprint)
      .map((p) => p.name);
    const question =
      `Remove certificate ${info.thumbprint} (${info.subject}) ${info.hasKey ? "and its private key " : ""}` +
      "from the local store? " +
      (users.length
        ? `Profile${users.length > 1 ? "s" : ""} ${users.join(", ")} use${users.length > 1 ? "" : "s"} it and will stop signing in.`
        : "Anything using it will stop signing in from here.");
    if (!(await confirm(ctx, question))) {
      ctx.stderr.write("Nothing removed.\n");
      return { thumbprint: info.thumbprint, removed: false };
    }
    await store.remove(info.thumbprint);
    return { thumbprint: info.thumbprint, removed: true };
  },
});
