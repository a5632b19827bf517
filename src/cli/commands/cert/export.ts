import type { Command } from "commander";
import { stateHome } from "../../../config/home.js";
import { UsageError } from "../../../errors.js";
import type { CliContext } from "../../context.js";
import { addOutputOption, outputFormatFrom, withExamples } from "../../options.js";
import { renderObject } from "../../render.js";

/** `exo-cba cert export THUMBPRINT --pfx FILE [--legacy] | --cer FILE | --pem FILE`. */
export function register(parent: Command, ctx: CliContext): void {
  const cmd = parent
    .command("export")
    .description(
      "write a certificate of the store to a file: PFX with its key (Windows, Connect-ExchangeOnline " +
        "-CertificateFilePath), the public .cer (for upload), or PEM with certificate and key",
    )
    .argument("<thumbprint>", "SHA-1 (or SHA-256) thumbprint")
    .option(
      "--pfx <file>",
      "PFX with the private key (password from EXO_CERTIFICATE_PASSWORD or --password-file)",
    )
    .option(
      "--legacy",
      "PFX for Windows Server 2016 and older: 3DES and an SHA-1 MAC instead of AES-256/SHA-256",
    )
    .option("--cer <file>", "public certificate, DER (what the Entra portal takes)")
    .option("--pem <file>", "certificate and unencrypted private key, PEM, owner-only file")
    .option("--password-file <file>", "file whose first line is the PFX password")
    .option("--force", "replace the file if it exists (otherwise an existing file is refused)");
  addOutputOption(cmd);
  withExamples(cmd, [
    "EXO_CERTIFICATE_PASSWORD=... exo-cba cert export 3F2A...C9 --pfx exo.pfx",
    "exo-cba cert export 3F2A...C9 --pfx exo-2016.pfx --legacy --password-file ./pw.txt",
    "exo-cba cert export 3F2A...C9 --cer exo.cer",
    "exo-cba cert export 3F2A...C9 --pem exo.pem",
  ]);
  cmd.action(async (thumbprint: string, opts: Record<string, unknown>) => {
    const { exportCertificate } = await import("../../../cert/index.js");
    const { passwordFrom, PASSWORD_HINT } = await import("./common.js");
    const targets = (["pfx", "cer", "pem"] as const).filter((f) => typeof opts[f] === "string");
    if (targets.length !== 1) {
      throw new UsageError("Give exactly one of --pfx FILE, --cer FILE or --pem FILE.");
    }
    const format = targets[0]!;
    if (opts.legacy === true && format !== "pfx") throw new UsageError("--legacy applies to --pfx only.");
    const password = format === "pfx" ? await passwordFrom(ctx, opts) : undefined;
    if (format === "pfx" && password === undefined) {
      throw new UsageError("A PFX needs a password.", { hint: PASSWORD_HINT });
    }
    const result = await exportCertificate({
      home: stateHome(ctx.env),
      env: ctx.env,
      thumbprint,
      format,
      path: String(opts[format]),
      legacy: opts.legacy === true,
      force: opts.force === true,
      ...(password !== undefined ? { password } : {}),
    });
    renderObject(result, outputFormatFrom(opts), ctx.stdout);
  });
}
