import type { Command } from "commander";
import { stateHome } from "../../../config/home.js";
import type { CliContext } from "../../context.js";
import { addOutputOption, outputFormatFrom, withExamples } from "../../options.js";
import { confirm } from "../../prompt.js";
import { renderObject } from "../../render.js";

/** `exo-cba cert remove THUMBPRINT [--yes]`: delete a certificate and its key from the store. */
export function register(parent: Command, ctx: CliContext): void {
  const cmd = parent
    .command("remove")
    .description("remove a certificate and its private key from the local store (asks first; --yes to skip)")
    .argument("<thumbprint>", "SHA-1 (or SHA-256) thumbprint");
  addOutputOption(cmd);
  withExamples(cmd, ["exo-cba cert remove 3F2A...C9", "exo-cba cert remove 3F2A...C9 --yes"]);
  cmd.action(async (thumbprint: string, opts: Record<string, unknown>) => {
    const { CertStore } = await import("../../../cert/store.js");
    const store = await CertStore.open(stateHome(ctx.env), ctx.env);
    const info = await store.get(thumbprint);
    const { readProfiles } = await import("../../../config/profiles.js");
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
      renderObject({ thumbprint: info.thumbprint, removed: false }, outputFormatFrom(opts), ctx.stdout);
      return;
    }
    await store.remove(info.thumbprint);
    renderObject({ thumbprint: info.thumbprint, removed: true }, outputFormatFrom(opts), ctx.stdout);
  });
}
