import type { Command } from "commander";
import type { CliContext } from "../../context.js";
import { addOutputOption, outputFormatFrom, withExamples } from "../../options.js";

/** `exo-cba cert check`: expiring, expired or missing certificates of the profiles — offline, exit 8 on a problem. */
export function register(parent: Command, ctx: CliContext): void {
  const cmd = parent
    .command("check")
    .description(
      "check the certificates the profiles use (or the whole store) for expiry, without any network call;\n" +
        "exit 8 with one line per certificate expiring within --warn-days, expired or missing (for cron and monitoring)",
    )
    .option("--warn-days <days>", "a certificate with fewer days left is a problem", "30")
    .option("--profile <name>", "only this profile");
  addOutputOption(cmd);
  withExamples(cmd, ["exo-cba cert check", "exo-cba cert check --warn-days 45 --output json"]);
  cmd.action(async (opts: Record<string, unknown>) => {
    const { CheckFailedError, UsageError } = await import("../../../errors.js");
    const warnDays = Number(opts.warnDays);
    if (!Number.isInteger(warnDays) || warnDays < 0)
      throw new UsageError("--warn-days must be a whole number of days.");
    const { stateHome } = await import("../../../config/home.js");
    const { checkCertificates, certProblemLine, isCertProblem } = await import(
      "../../../lifecycle/cert-check.js"
    );
    const { renderRows } = await import("../../render.js");
    const rows = await checkCertificates({
      home: stateHome(ctx.env),
      env: ctx.env,
      warnDays,
      ...(typeof opts.profile === "string" ? { profile: opts.profile } : {}),
    });
    await renderRows(rows as unknown as Array<Record<string, unknown>>, outputFormatFrom(opts), ctx.stdout);
    ctx.logger?.event("cert.check", {
      certificates: rows.length,
      problems: rows.filter(isCertProblem).length,
    });
    const problems = rows.filter(isCertProblem);
    if (problems.length) {
      for (const row of problems) ctx.stderr.write(`${certProblemLine(row)}\n`);
      throw new CheckFailedError(
        `${problems.length} certificate${problems.length === 1 ? "" : "s"} need${problems.length === 1 ? "s" : ""} attention.`,
        {
          hint: "Rotate expiring certificates with `exo-cba cert rotate --profile NAME` (add --self to do it without an admin).",
        },
      );
    }
  });
}
