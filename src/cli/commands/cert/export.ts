import { stateHome } from "../../../config/home.js";
import { UsageError } from "../../../errors.js";
import { outputOption } from "../../common-options.js";
import { argument, defineCommand, option } from "../../define-command.js";
import { flag, requiredText, text } from "../../option-schemas.js";

/** `exo-cba cert export THUMBPRINT --pfx FILE [--legacy] | --cer FILE | --pem FILE`. */
export const command = defineCommand({
  name: "export",
  description:
    "write a certificate of the store to a file: PFX with its key (Windows, Connect-ExchangeOnline " +
    "-CertificateFilePath), the public .cer (for upload), or PEM with certificate and key",
  examples: [
    "EXO_CERTIFICATE_PASSWORD=... exo-cba cert export 3F2A...C9 --pfx exo.pfx",
    "exo-cba cert export 3F2A...C9 --pfx exo-2016.pfx --legacy --password-file ./pw.txt",
    "exo-cba cert export 3F2A...C9 --cer exo.cer",
    "exo-cba cert export 3F2A...C9 --pem exo.pem",
  ],
  arguments: { thumbprint: argument("<thumbprint>", "SHA-1 (or SHA-256) thumbprint", requiredText()) },
  options: {
    pfx: option(
      "--pfx <file>",
      "PFX with the private key (password from EXO_CERTIFICATE_PASSWORD or --password-file)",
      text(),
    ),
    legacy: option(
      "--legacy",
      "PFX for Windows Server 2016 and older: 3DES and an SHA-1 MAC instead of AES-256/SHA-256",
      flag(),
    ),
    cer: option("--cer <file>", "public certificate, DER (what the Entra portal takes)", text()),
    pem: option("--pem <file>", "certificate and unencrypted private key, PEM, owner-only file", text()),
    passwordFile: option("--password-file <file>", "file whose first line is the PFX password", text()),
    force: option("--force", "replace the file if it exists (otherwise an existing file is refused)", flag()),
    ...outputOption(),
  },
  needs: "none",
  async run(ctx, opts) {
    const { exportCertificate } = await import("../../../cert/index.js");
    const { passwordFrom, PASSWORD_HINT } = await import("./common.js");
    const targets = (["pfx", "cer", "pem"] as const).flatMap((format) => {
      const path = opts[format];
      return path === undefined ? [] : [{ format, path }];
    });
    const target = targets[0];
    if (targets.length !== 1 || !target) {
      throw new UsageError("Give exactly one of --pfx FILE, --cer FILE or --pem FILE.");
    }
    const { format, path } = target;
    if (opts.legacy && format !== "pfx") throw new UsageError("--legacy applies to --pfx only.");
    const password = format === "pfx" ? await passwordFrom(ctx, opts.passwordFile) : undefined;
    if (format === "pfx" && password === undefined) {
      throw new UsageError("A PFX needs a password.", { hint: PASSWORD_HINT });
    }
    return exportCertificate({
      home: stateHome(ctx.env),
      env: ctx.env,
      thumbprint: opts.thumbprint,
      format,
      path,
      legacy: opts.legacy,
      force: opts.force,
      ...(password !== undefined ? { password } : {}),
    });
  },
});
