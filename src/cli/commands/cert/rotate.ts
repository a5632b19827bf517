import type { Command } from "commander";
import type { CliContext } from "../../context.js";
import { addOutputOption, outputFormatFrom, withExamples } from "../../options.js";

/** `exo-cba cert rotate`: zero-downtime rotation of the profile's certificate on the app; resumable. */
export function register(parent: Command, ctx: CliContext): void {
  const cmd = parent
    .command("rotate")
    .description(
      "replace the profile's certificate on the app without downtime: create (or take) a new one, add it next to\n" +
        "the old one, prove it works with a live call, switch the profile, remove the old key; re-run to resume",
    )
    .option("--profile <name>", "the profile to rotate [EXO_PROFILE]")
    .option(
      "--certificate-thumbprint <hex>",
      "use this certificate of the local store instead of creating one",
    )
    .option("--keep-old", "leave the old key on the app (machines not yet switched keep working)")
    .option("--keep-old-until <date>", "record until when the old key stays (implies --keep-old)")
    .option("--self", "the app rotates its own key (Graph addKey/removeKey with a proof): no admin needed");
  addOutputOption(cmd);
  withExamples(cmd, [
    "exo-cba cert rotate --profile contoso --self",
    "EXO_ADMIN_ACCESS_TOKEN=... exo-cba cert rotate --profile contoso --keep-old --keep-old-until 2027-01-31",
    "exo-cba cert rotate --profile contoso --certificate-thumbprint 0123...CDEF   # a CA-issued certificate imported before",
  ]);
  cmd.action(async (opts: Record<string, unknown>) => {
    const { UsageError } = await import("../../../errors.js");
    let keepOldUntil: string | undefined;
    if (typeof opts.keepOldUntil === "string") {
      const t = Date.parse(opts.keepOldUntil);
      if (Number.isNaN(t))
        throw new UsageError(`--keep-old-until '${opts.keepOldUntil}' is not a date.`, {
          hint: "Use ISO form, e.g. 2027-01-31.",
        });
      keepOldUntil = new Date(t).toISOString().slice(0, 10);
    }
    const { resolveConnection } = await import("../../../config/connection.js");
    const { HttpTransport } = await import("../../../http/transport.js");
    const { rotateCertificate } = await import("../../../lifecycle/rotate.js");
    const { rotationDeps } = await import("../../../session/wiring.js");
    const { renderObject } = await import("../../render.js");
    // Only the profile selects the connection: --certificate-thumbprint here names the NEW certificate.
    const resolved = await resolveConnection(
      typeof opts.profile === "string" ? { profile: opts.profile } : {},
      ctx.env,
    );
    const transport = new HttpTransport({ env: ctx.env });
    try {
      const deps = await rotationDeps(resolved, {
        env: ctx.env,
        transport,
        self: opts.self === true,
        interactive: ctx.interactive,
        onMessage: (text) => ctx.stderr.write(`${text}\n`),
        ...(ctx.logger ? { logger: ctx.logger } : {}),
      });
      const result = await rotateCertificate(deps, {
        ...(typeof opts.certificateThumbprint === "string"
          ? { newThumbprint: opts.certificateThumbprint }
          : {}),
        keepOld: opts.keepOld === true || keepOldUntil !== undefined,
        ...(keepOldUntil ? { keepOldUntil } : {}),
      });
      for (const note of result.notes) ctx.stderr.write(`${note}\n`);
      const { notes: _notes, steps, ...summary } = result;
      renderObject(
        { ...summary, steps: steps.map((s) => `${s.step}:${s.outcome}`) },
        outputFormatFrom(opts),
        ctx.stdout,
      );
    } finally {
      transport.close();
    }
  });
}
