import type { Command } from "commander";
import { stateHome } from "../../../config/home.js";
import type { CliContext } from "../../context.js";
import { addOutputOption, outputFormatFrom, withExamples } from "../../options.js";
import { renderObject } from "../../render.js";

/** `exo-cba cert show THUMBPRINT`: everything about one certificate of the store. */
export function register(parent: Command, ctx: CliContext): void {
  const cmd = parent
    .command("show")
    .description("show one certificate of the local store")
    .argument("<thumbprint>", "SHA-1 (or SHA-256) thumbprint, any case, spaces or colons allowed");
  addOutputOption(cmd);
  withExamples(cmd, ["exo-cba cert show 3F2A...C9 --output json"]);
  cmd.action(async (thumbprint: string, opts: Record<string, unknown>) => {
    const { CertStore } = await import("../../../cert/store.js");
    const { detail } = await import("./common.js");
    const store = await CertStore.open(stateHome(ctx.env), ctx.env);
    renderObject(detail(await store.get(thumbprint)), outputFormatFrom(opts), ctx.stdout);
  });
}
