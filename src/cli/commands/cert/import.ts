import type { Command } from "commander";
import { stateHome } from "../../../config/home.js";
import type { CliContext } from "../../context.js";
import { addOutputOption, outputFormatFrom, withExamples } from "../../options.js";
import { renderObject } from "../../render.js";

/** `exo-cba cert import FILE`: an issued certificate for a waiting key, or a PFX/PEM with its key. */
export function register(parent: Command, ctx: CliContext): void {
  const cmd = parent
    .command("import")
    .description(
      "import a certificate into the local store: one issued for `cert csr` (DER, PEM or PKCS#7 with chain), " +
        "or a PFX / PEM that carries its private key",
    )
    .argument("<file>", "certificate file (.cer, .crt, .pem, .p7b, .pfx, .p12)")
    .option(
      "--password-file <file>",
      "file whose first line is the PFX / key password (or set EXO_CERTIFICATE_PASSWORD)",
    )
    .option("--friendly-name <text>", "friendly name to record (default: the PFX's, if any)")
    .option("--force", "import even an expired certificate");
  addOutputOption(cmd);
  withExamples(cmd, [
    "exo-cba cert import ./issued/exo-automation.cer",
    "exo-cba cert import ./issued/exo-automation.p7b",
    "EXO_CERTIFICATE_PASSWORD=... exo-cba cert import ./exo.pfx",
    "exo-cba cert import ./exo.pfx --password-file ./pfx-password.txt",
  ]);
  cmd.action(async (file: string, opts: Record<string, unknown>) => {
    const { importCertificate } = await import("../../../cert/index.js");
    const { detail, passwordFrom, PASSWORD_HINT } = await import("./common.js");
    const format = outputFormatFrom(opts);
    const password = await passwordFrom(ctx, opts);
    const result = await importCertificate({
      home: stateHome(ctx.env),
      env: ctx.env,
      path: file,
      force: opts.force === true,
      passwordHint: PASSWORD_HINT,
      ...(password !== undefined ? { password } : {}),
      ...(typeof opts.friendlyName === "string" ? { friendlyName: opts.friendlyName } : {}),
    });
    for (const warning of result.warnings) ctx.stderr.write(`warning: ${warning}\n`);
    renderObject({ ...detail(result.certificate), key: result.key }, format, ctx.stdout);
    ctx.stderr.write(
      result.alreadyInStore
        ? `Certificate ${result.certificate.thumbprint} was already in the store; nothing changed.\n`
        : `Certificate ${result.certificate.thumbprint} imported.\n`,
    );
  });
}
