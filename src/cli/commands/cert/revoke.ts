import type { Command } from "commander";
import type { CliContext } from "../../context.js";
import { addOutputOption, outputFormatFrom, withExamples } from "../../options.js";

/** `exo-cba cert revoke THUMBPRINT`: remove a key from the app (lost machine, kept old key) — admin path. */
export function register(parent: Command, ctx: CliContext): void {
  const cmd = parent
    .command("revoke")
    .description(
      "remove a certificate from the app registration (a machine was lost, or an old key was kept); needs an admin",
    )
    .argument("<thumbprint>", "SHA-1 thumbprint of the certificate to remove")
    .option("--profile <name>", "the profile whose app it is [EXO_PROFILE]")
    .option("--app-id <guid>", "the app, when there is no profile on this machine [EXO_APP_ID]")
    .option(
      "--organization <org>",
      "its tenant, when there is no profile on this machine [EXO_ORGANIZATION]",
    );
  addOutputOption(cmd);
  withExamples(cmd, [
    "EXO_ADMIN_ACCESS_TOKEN=... exo-cba cert revoke 0123456789ABCDEF0123456789ABCDEF01234567 --profile contoso --yes",
  ]);
  cmd.action(async (thumbprintArg: string, opts: Record<string, unknown>) => {
    const { normalizeThumbprint } = await import("../../../config/validate.js");
    const { resolveConnection } = await import("../../../config/connection.js");
    const { saveProfile } = await import("../../../config/profiles.js");
    const { UsageError } = await import("../../../errors.js");
    const { HttpTransport } = await import("../../../http/transport.js");
    const { findKey } = await import("../../../graph/key-credentials.js");
    const { revokeCertificate, revokeDangers } = await import("../../../lifecycle/revoke.js");
    const { adminDirectory } = await import("../../../session/wiring.js");
    const { confirm } = await import("../../prompt.js");
    const { renderObject } = await import("../../render.js");

    const thumbprint = normalizeThumbprint(thumbprintArg);
    // The connection's own certificate plays no part here; naming the revoked one keeps resolution from
    // demanding a local certificate on an admin's machine that has none.
    const resolved = await resolveConnection(
      {
        certificateThumbprint: thumbprint,
        ...(typeof opts.profile === "string" ? { profile: opts.profile } : {}),
        ...(typeof opts.appId === "string" ? { appId: opts.appId } : {}),
        ...(typeof opts.organization === "string" ? { organization: opts.organization } : {}),
      },
      ctx.env,
    );
    const transport = new HttpTransport({ env: ctx.env });
    try {
      const directory = await adminDirectory(resolved, {
        env: ctx.env,
        transport,
        interactive: ctx.interactive,
        why: "Removing a key from the app",
        onMessage: (text) => ctx.stderr.write(`${text}\n`),
      });
      let objectId = resolved.profile?.appId === resolved.appId ? resolved.profile.appObjectId : undefined;
      if (!objectId) {
        const app = await directory.findApplicationByAppId(resolved.appId);
        if (!app)
          throw new UsageError(`No application with app id ${resolved.appId} in ${resolved.organization}.`);
        objectId = app.id;
      }
      const keys = await directory.getKeyCredentials(objectId);
      if (!findKey(keys, thumbprint)) {
        renderObject(
          { thumbprint, removed: false, remainingKeys: keys.length },
          outputFormatFrom(opts),
          ctx.stdout,
        );
        ctx.stderr.write(`${thumbprint} is not registered on the app; nothing to do.\n`);
        return;
      }
      const dangers = revokeDangers(keys.length, thumbprint, resolved.profile);
      for (const d of dangers) ctx.stderr.write(`warning: ${d}\n`);
      if (!(await confirm(ctx, `Remove certificate ${thumbprint} from app ${resolved.appId}?`))) {
        throw new UsageError("Not confirmed; nothing was removed.");
      }
      const result = await revokeCertificate({
        api: directory,
        applicationObjectId: objectId,
        thumbprint,
        confirmedBreaking: true,
        ...(resolved.profile
          ? { profile: resolved.profile, saveProfile: (p) => saveProfile(resolved.home, p).then(() => {}) }
          : {}),
        ...(ctx.logger ? { logger: ctx.logger } : {}),
      });
      renderObject(result, outputFormatFrom(opts), ctx.stdout);
    } finally {
      transport.close();
    }
  });
}
