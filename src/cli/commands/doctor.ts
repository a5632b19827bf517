import { connectionFrom, connectionOptions, outputOption } from "../common-options.js";
import { defineCommand, option } from "../define-command.js";
import { number, oneOf } from "../option-schemas.js";

/** `exo-cba doctor`: check every link of the chain and print fixes; exit 8 when one is broken. */
export const command = defineCommand({
  name: "doctor",
  description:
    "check every link an unattended job depends on — local certificate, key, permissions, expiry, app,\n" +
    "certificate on the app, consent, directory role, a fresh token, a live cmdlet — and print fixes (exit 8 on a problem)",
  examples: [
    "exo-cba doctor",
    "exo-cba doctor --profile contoso --warn-days 45",
    "EXO_ADMIN_ACCESS_TOKEN=$(cat admin.token) exo-cba doctor --output json   # also read the app, consent and role from the directory",
  ],
  options: {
    warnDays: option(
      "--warn-days <days>",
      "warn when the certificate has fewer days left",
      number({ max: 36_500, unit: "days" }),
      { default: "30" },
    ),
    failOn: option(
      "--fail-on <level>",
      "exit 8 on 'fail' only (default) or also on 'warn'",
      oneOf(["fail", "warn"]),
      {
        default: "fail",
      },
    ),
    ...connectionOptions,
    ...outputOption(),
  },
  needs: "exchange",
  async run(ctx, opts) {
    const { runDoctor } = await import("../../diagnostics/doctor.js");
    const session = await ctx.session();
    const resolved = await session.resolve(connectionFrom(opts));
    return runDoctor(await session.doctorDeps(resolved, opts.warnDays));
  },
  async render(results, opts, ctx) {
    const { CheckFailedError } = await import("../../errors.js");
    if (opts.output === "table") ctx.stdout.write(formatDoctor(results));
    else {
      const { renderRows } = await import("../render.js");
      await renderRows(results as unknown as Array<Record<string, unknown>>, opts.output, ctx.stdout);
    }
    const bad = results.filter((r) => r.status === "fail" || (opts.failOn === "warn" && r.status === "warn"));
    if (bad.length) {
      throw new CheckFailedError(
        `doctor found ${bad.length} problem${bad.length === 1 ? "" : "s"}: ${bad.map((r) => r.check).join(", ")}.`,
        {
          hint: "Apply the fix shown for each, then run `exo-cba doctor` again.",
        },
      );
    }
  },
});

const MARK = { ok: "[ ok ]", warn: "[warn]", fail: "[FAIL]", skip: "[skip]" } as const;

/** Human form: one line per check, its fix indented below (a table would cut the fixes short). */
export function formatDoctor(
  results: Array<{ check: string; status: keyof typeof MARK; detail: string; fix?: string }>,
) {
  const width = Math.max(...results.map((r) => r.check.length));
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`${MARK[r.status]} ${r.check.padEnd(width)}  ${r.detail}`);
    if (r.fix && r.status !== "ok" && r.status !== "skip")
      lines.push(`       ${" ".repeat(width)}  fix: ${r.fix}`);
  }
  return `${lines.join("\n")}\n`;
}
