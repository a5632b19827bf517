import { outputOption } from "../../common-options.js";
import { defineCommand, option } from "../../define-command.js";
import { date, flag, optional, text } from "../../option-schemas.js";

/** `exo-cba cert rotate`: zero-downtime rotation of the profile's certificate on the app; resumable. */
export const command = defineCommand({
  name: "rotate",
  description:
    "replace the profile's certificate on the app without downtime: create (or take) a new one, add it next to\n" +
    "the old one, prove it works with a live call, switch the profile, remove the old key; re-run to resume",
  examples: [
    "exo-cba cert rotate --profile contoso --self",
    "EXO_ADMIN_ACCESS_TOKEN=... exo-cba cert rotate --profile contoso --keep-old --keep-old-until 2027-01-31",
    "exo-cba cert rotate --profile contoso --certificate-thumbprint 0123...CDEF   # a CA-issued certificate imported before",
  ],
  options: {
    profile: option("--profile <name>", "the profile to rotate [EXO_PROFILE]", text()),
    certificateThumbprint: option(
      "--certificate-thumbprint <hex>",
      "use this certificate of the local store instead of creating one",
      text(),
    ),
    keepOld: option(
      "--keep-old",
      "leave the old key on the app (machines not yet switched keep working)",
      flag(),
    ),
    keepOldUntil: option(
      "--keep-old-until <date>",
      "record until when the old key stays (implies --keep-old)",
      optional(date()),
    ),
    self: option(
      "--self",
      "the app rotates its own key (Graph addKey/removeKey with a proof): no admin needed",
      flag(),
    ),
    ...outputOption(),
  },
  needs: "admin",
  async run(ctx, opts) {
    const { rotateCertificate } = await import("../../../lifecycle/rotate.js");
    const session = await ctx.session();
    // Only the profile selects the connection: --certificate-thumbprint here names the NEW certificate.
    const resolved = await session.resolve(opts.profile !== undefined ? { profile: opts.profile } : {});
    const keepOldUntil = opts.keepOldUntil?.toISOString().slice(0, 10);
    const result = await rotateCertificate(await session.rotationDeps(resolved, opts.self), {
      ...(opts.certificateThumbprint !== undefined ? { newThumbprint: opts.certificateThumbprint } : {}),
      keepOld: opts.keepOld || keepOldUntil !== undefined,
      ...(keepOldUntil ? { keepOldUntil } : {}),
    });
    for (const note of result.notes) ctx.stderr.write(`${note}\n`);
    const { notes: _notes, steps, ...summary } = result;
    return { ...summary, steps: steps.map((s) => `${s.step}:${s.outcome}`) };
  },
});
