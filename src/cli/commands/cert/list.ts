import type { Command } from "commander";
import { stateHome } from "../../../config/home.js";
import type { CliContext } from "../../context.js";
import { addOutputOption, outputFormatFrom, withExamples } from "../../options.js";
import { renderRows } from "../../render.js";

/** `exo-cba cert list`: the certificates of the local store, soonest expiry first. */
export function register(parent: Command, ctx: CliContext): void {
  const cmd = parent
    .command("list")
    .description("list the certificates of the local store (soonest expiry first)");
  addOutputOption(cmd);
  withExamples(cmd, ["exo-cba cert list", "exo-cba cert list --output json"]);
  cmd.action(async (opts: Record<string, unknown>) => {
    const { CertStore } = await import("../../../cert/store.js");
    const { listRow } = await import("./common.js");
    const store = await CertStore.open(stateHome(ctx.env), ctx.env);
    const rows = (await store.list()).map(listRow);
    await renderRows(rows, outputFormatFrom(opts), ctx.stdout);
  });
}
