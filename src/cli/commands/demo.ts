import type { Command } from "commander";
import { PartialResultError } from "../../errors.js";
import type { CliContext } from "../context.js";
import { withExamples } from "../options.js";

/** `exo-cba demo`: every feature, end to end, against an in-process emulator (what `npm start` runs). */
export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("demo")
    .description(
      "run the whole flow (certificate, setup, cmdlets, report, doctor, rotation, teardown) against an in-process emulator",
    )
    .option("--mailboxes <n>", "mailboxes in the generated tenant", "250")
    .option(
      "--home <dir>",
      "keep certificates, profiles, history and report files in this folder (default: a temp folder, removed)",
    )
    .option(
      "--replication-delay-ms <ms>",
      "emulated directory replication delay that setup must wait out",
      "1500",
    )
    .option(
      "--exchange-role-delay-ms <ms>",
      "emulated Exchange role propagation: tokens minted sooner after the grant stay refused, setup's check fetches fresh ones",
      "2000",
    )
    .action(
      async (opts: {
        mailboxes: string;
        home?: string;
        replicationDelayMs: string;
        exchangeRoleDelayMs: string;
      }) => {
        const { runDemo } = await import("../../demo/run.js");
        const result = await runDemo(ctx, {
          mailboxes: Number(opts.mailboxes),
          replicationDelayMs: Number(opts.replicationDelayMs),
          exchangeRoleDelayMs: Number(opts.exchangeRoleDelayMs),
          ...(opts.home ? { home: opts.home } : {}),
        });
        if (!result.ok) {
          const failed = result.steps.filter((s) => s.exitCode !== s.expectedExitCode).map((s) => s.command);
          throw new PartialResultError(
            `The demo did not complete: ${failed.join("; ") || "the report did not match the emulator's truth"}.`,
          );
        }
      },
    );
  withExamples(cmd, ["exo-cba demo", "exo-cba demo --mailboxes 5000 --home ./demo-state"]);
}
