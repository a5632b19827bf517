import { outputOption } from "../../common-options.js";
import { argument, defineCommand, option } from "../../define-command.js";
import { requiredText, text } from "../../option-schemas.js";

/** `exo-cba cert revoke THUMBPRINT`: remove a key from the app (lost machine, kept old key) — admin path. */
export const command = defineCommand({
  name: "revoke",
  description:
    "remove a certificate from the app registration (a machine was lost, or an old key was kept); needs an admin",
  examples: [
    "EXO_ADMIN_ACCESS_TOKEN=... exo-cba cert revoke 0123456789ABCDEF0123456789ABCDEF01234567 --profile contoso --yes",
  ],
  arguments: {
    thumbprint: argument("<thumbprint>", "SHA-1 thumbprint of the certificate to remove", requiredText()),
  },
  options: {
    profile: option("--profile <name>", "the profile whose app it is [EXO_PROFILE]", text()),
    appId: option(
      "--app-id <guid>",
      "the app, when there is no profile on this machine [EXO_APP_ID]",
      text(),
    ),
    organization: option(
      "--organization <org>",
      "its tenant, when there is no profile on this machine [EXO_ORGANIZATION]",
      text(),
    ),
    ...outputOption(),
  },
  needs: "admin",
  async run(ctx, opts) {
    const { normalizeThumbprint } = await import("../../../config/validate.js");
    const { saveProfile } = await import("../../../config/profiles.js");
    const { UsageError } = await import("../../../errors.js");
    const { findKey } = await import("../../../graph/key-credentials.js");
    const { revokeCertificate, revokeDangers } = await import("../../../lifecycle/revoke.js");
    const { confirm } = await import("../../prompt.js");

    const thumbprint = normalizeThumbprint(opts.thumbprint);
    const session = await ctx.session();
    // The connection's own certificate plays no part here; naming the revoked one keeps resolution from
    // demanding a local certificate on an admin's machine that has none.
    const resolved = await session.resolve({
      certificateThumbprint: thumbprint,
      ...(opts.profile !== undefined ? { profile: opts.profile } : {}),
      ...(opts.appId !== undefined ? { appId: opts.appId } : {}),
      ...(opts.organization !== undefined ? { organization: opts.organization } : {}),
    });
    const directory = await session.adminDirectory(resolved, "Removing a key from the app");
    let objectId = resolved.profile?.appId === resolved.appId ? resolved.profile.appObjectId : undefined;
    if (!objectId) {
      const app = await directory.findApplicationByAppId(resolved.appId);
      if (!app)
        throw new UsageError(`No application with app id ${resolved.appId} in ${resolved.organization}.`);
      objectId = app.id;
    }
    const keys = await directory.getKeyCredentials(objectId);
    if (!findKey(keys, thumbprint)) {
      ctx.stderr.write(`${thumbprint} is not registered on the app; nothing to do.\n`);
      return { thumbprint, removed: false, remainingKeys: keys.length };
    }
    const dangers = revokeDangers(keys.length, thumbprint, resolved.profile);
    for (const d of dangers) ctx.stderr.write(`warning: ${d}\n`);
    if (!(await confirm(ctx, `Remove certificate ${thumbprint} from app ${resolved.appId}?`))) {
      throw new UsageError("Not confirmed; nothing was removed.");
    }
    return revokeCertificate({
      api: directory,
      applicationObjectId: objectId,
      thumbprint,
      confirmedBreaking: true,
      ...(resolved.profile
        ? { profile: resolved.profile, saveProfile: (p) => saveProfile(resolved.home, p).then(() => {}) }
        : {}),
      ...(ctx.logger ? { logger: ctx.logger } : {}),
    });
  },
});
