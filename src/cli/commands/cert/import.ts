import { stateHome } from "../../../config/home.js";
import { outputOption } from "../../common-options.js";
import { argument, defineCommand, option } from "../../define-command.js";
import { flag, requiredText, text } from "../../option-schemas.js";

/** `exo-cba cert import FILE`: an issued certificate for a waiting key, or a PFX/PEM with its key. */
export const command = defineCommand({
  name: "import",
  description:
    "import a certificate into the local store: one issued for `cert csr` (DER, PEM or PKCS#7 with chain), " +
    "or a PFX / PEM that carries its private key",
  examples: [
    "exo-cba cert import ./issued/exo-automation.cer",
    "exo-cba cert import ./issued/exo-automation.p7b",
    "EXO_CERTIFICATE_PASSWORD=... exo-cba cert import ./exo.pfx",
    "exo-cba cert import ./exo.pfx --password-file ./pfx-password.txt",
  ],
  arguments: {
    file: argument("<file>", "certificate file (.cer, .crt, .pem, .p7b, .pfx, .p12)", requiredText()),
  },
  options: {
    passwordFile: option(
      "--password-file <file>",
      "file whose first line is the PFX / key password (or set EXO_CERTIFICATE_PASSWORD)",
      text(),
    ),
    friendlyName: option(
      "--friendly-name <text>",
      "friendly name to record (default: the PFX's, if any)",
      text(),
    ),
    force: option("--force", "import even an expired certificate", flag()),
    ...outputOption(),
  },
  needs: "none",
  async run(ctx, opts) {
    const { importCertificate } = await import("../../../cert/index.js");
    const { detail, passwordFrom, PASSWORD_HINT } = await import("./common.js");
    const password = await passwordFrom(ctx, opts.passwordFile);
    const result = await importCertificate({
      home: stateHome(ctx.env),
      env: ctx.env,
      path: opts.file,
      force: opts.force,
      passwordHint: PASSWORD_HINT,
      ...(password !== undefined ? { password } : {}),
      ...(opts.friendlyName !== undefined ? { friendlyName: opts.friendlyName } : {}),
    });
    for (const warning of result.warnings) ctx.stderr.write(`warning: ${warning}\n`);
    return {
      data: { ...detail(result.certificate), key: result.key },
      note: result.alreadyInStore
        ? `Certificate ${result.certificate.thumbprint} was already in the store; nothing changed.\n`
        : `Certificate ${result.certificate.thumbprint} imported.\n`,
    };
  },
  async render(result, opts, ctx) {
    const { renderObject } = await import("../../render.js");
    renderObject(result.data, opts.output, ctx.stdout);
    ctx.stderr.write(result.note);
  },
});
