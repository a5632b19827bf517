import { PartialResultError } from "../../errors.js";
import { defineCommand, option } from "../define-command.js";
import { number, text } from "../option-schemas.js";

/** `exo-cba demo`: every feature, end to end, against an in-process emulator (what `npm start` runs). */
export const command = defineCommand({
  name: "demo",
  description:
    "run the whole flow (certificate, setup, cmdlets, report, doctor, rotation, teardown) against an in-process emulator",
  examples: ["exo-cba demo", "exo-cba demo --mailboxes 5000 --home ./demo-state"],
  options: {
    mailboxes: option("--mailboxes <n>", "mailboxes in the generated tenant", number({ max: 10_000_000 }), {
      default: "250",
    }),
    home: option(
      "--home <dir>",
      "keep certificates, profiles, history and report files in this folder (default: a temp folder, removed)",
      text(),
    ),
    replicationDelayMs: option(
      "--replication-delay-ms <ms>",
      "emulated directory replication delay that setup must wait out",
      number({ max: 86_400_000 }),
      { default: "1500" },
    ),
    exchangeRoleDelayMs: option(
      "--exchange-role-delay-ms <ms>",
      "emulated Exchange role propagation: tokens minted sooner after the grant stay refused, setup's check fetches fresh ones",
      number({ max: 86_400_000 }),
      { default: "2000" },
    ),
  },
  needs: "none",
  async run(ctx, opts) {
    const { runDemo } = await import("../../demo/run.js");
    return runDemo(ctx, {
      mailboxes: opts.mailboxes,
      replicationDelayMs: opts.replicationDelayMs,
      exchangeRoleDelayMs: opts.exchangeRoleDelayMs,
      ...(opts.home ? { home: opts.home } : {}),
    });
  },
  // The demo prints as it goes; what is left is the verdict.
  render(result) {
    if (!result.ok) {
      const failed = result.steps.filter((s) => s.exitCode !== s.expectedExitCode).map((s) => s.command);
      throw new PartialResultError(
        `The demo did not complete: ${failed.join("; ") || "the report did not match the emulator's truth"}.`,
      );
    }
  },
});
