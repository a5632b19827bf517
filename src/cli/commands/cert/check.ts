import { outputOption } from "../../common-options.js";
import { defineCommand, option } from "../../define-command.js";
import { number, text } from "../../option-schemas.js";

/** `exo-cba cert check`: expiring, expired or missing certificates of the profiles — offline, exit 8 on a problem. */
export const command = defineCommand({
  name: "check",
  description:
    "check the certificates the profiles use (or the whole store) for expiry, without any network call;\n" +
    "exit 8 with one line per certificate expiring within --warn-days, expired or missing (for cron and monitoring)",
  examples: ["exo-cba cert check", "exo-cba cert check --warn-days 45 --output json"],
  options: {
    warnDays: option(
      "--warn-days <days>",
      "a certificate with fewer days left is a problem",
      number({ max: 36_500, unit: "days" }),
      { default: "30" },
    ),
    profile: option("--profile <name>", "only this profile", text()),
    ...outputOption(),
  },
  needs: "none",
  async run(ctx, opts) {
    const { stateHome } = await import("../../../config/home.js");
    const { checkCertificates } = await import("../../../lifecycle/cert-check.js");
    return checkCertificates({
      home: stateHome(ctx.env),
      env: ctx.env,
      warnDays: opts.warnDays,
      ...(opts.profile !== undefined ? { profile: opts.profile } : {}),
    });
  },
  async render(rows, opts, ctx) {
    const { CheckFailedError } = await import("../../../errors.js");
    const { certProblemLine, isCertProblem } = await import("../../../lifecycle/cert-check.js");
    const { renderRows } = await import("../../render.js");
    await renderRows(rows as unknown as Array<Record<string, unknown>>, opts.output, ctx.stdout);
    const problems = rows.filter(isCertProblem);
    ctx.logger?.event("cert.check", { certificates: rows.length, problems: problems.length });
    if (problems.length) {
      for (const row of problems) ctx.stderr.write(`${certProblemLine(row)}\n`);
      throw new CheckFailedError(
        `${problems.length} certificate${problems.length === 1 ? "" : "s"} need${problems.length === 1 ? "s" : ""} attention.`,
        {
          hint: "Rotate expiring certificates with `exo-cba cert rotate --profile NAME` (add --self to do it without an admin).",
        },
      );
    }
  },
});
