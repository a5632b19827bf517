import type { Command } from "commander";
import type { CliContext } from "../context.js";
import {
  addConnectionOptions,
  addOutputOption,
  connectionOptionsFrom,
  outputFormatFrom,
  withExamples,
} from "../options.js";

/** `exo-cba doctor`: check every link of the chain and print fixes; exit 8 when one is broken. */
export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("doctor")
    .description(
      "check every link an unattended job depends on — local certificate, key, permissions, expiry, app,\n" +
        "certificate on the app, consent, directory role, a fresh token, a live cmdlet — and print fixes (exit 8 on a problem)",
    )
    .option("--warn-days <days>", "warn when the certificate has fewer days left", "30")
    .option("--fail-on <level>", "exit 8 on 'fail' only (default) or also on 'warn'", "fail");
  addConnectionOptions(cmd);
  addOutputOption(cmd);
  withExamples(cmd, [
    "exo-cba doctor",
    "exo-cba doctor --profile contoso --warn-days 45",
    "EXO_ADMIN_ACCESS_TOKEN=$(cat admin.token) exo-cba doctor --output json   # also read the app, consent and role from the directory",
  ]);
  cmd.action(async (opts: Record<string, unknown>) => {
    const { UsageError, CheckFailedError } = await import("../../errors.js");
    const warnDays = Number(opts.warnDays);
    if (!Number.isInteger(warnDays) || warnDays < 0)
      throw new UsageError("--warn-days must be a whole number of days.");
    const failOn = String(opts.failOn);
    if (failOn !== "fail" && failOn !== "warn") throw new UsageError("--fail-on must be 'fail' or 'warn'.");
    const { resolveConnection } = await import("../../config/connection.js");
    const { HttpTransport } = await import("../../http/transport.js");
    const { runDoctor } = await import("../../diagnostics/doctor.js");
    const { doctorDeps } = await import("../../session/wiring.js");
    const { renderRows } = await import("../render.js");

    const resolved = await resolveConnection(connectionOptionsFrom(opts), ctx.env);
    const transport = new HttpTransport({ env: ctx.env });
    let results: Awaited<ReturnType<typeof runDoctor>>;
    try {
      results = await runDoctor(
        doctorDeps(resolved, {
          env: ctx.env,
          transport,
          warnDays,
          ...(ctx.logger ? { logger: ctx.logger } : {}),
        }),
      );
    } finally {
      transport.close();
    }
    const format = outputFormatFrom(opts);
    if (format === "table") ctx.stdout.write(formatDoctor(results));
    else await renderRows(results as unknown as Array<Record<string, unknown>>, format, ctx.stdout);

    const bad = results.filter((r) => r.status === "fail" || (failOn === "warn" && r.status === "warn"));
    if (bad.length) {
      throw new CheckFailedError(
        `doctor found ${bad.length} problem${bad.length === 1 ? "" : "s"}: ${bad.map((r) => r.check).join(", ")}.`,
        {
          hint: "Apply the fix shown for each, then run `exo-cba doctor` again.",
        },
      );
    }
  });
}

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
