import { join } from "node:path";
import type { Command } from "commander";
import { stateHome } from "../../../config/home.js";
import { UsageError } from "../../../errors.js";
import type { CliContext } from "../../context.js";
import { addOutputOption, outputFormatFrom, withExamples } from "../../options.js";
import { renderObject } from "../../render.js";

/** `exo-cba cert new --dns-name NAME ...`: like New-SelfSignedCertificate followed by Export-Certificate. */
export function register(parent: Command, ctx: CliContext): void {
  const cmd = parent
    .command("new")
    .description(
      "create a self-signed RSA certificate (SHA-256, client authentication) in the local store " +
        "and write its public .cer for upload to the Entra app; prints the thumbprint",
    )
    .requiredOption("--dns-name <name>", "DNS name: subject CN and subject alternative name")
    .option("--friendly-name <text>", "friendly name (shown by Windows after a PFX import)")
    .option("--years <n>", "validity in years (default 1)")
    .option("--not-after <date>", "end of validity instead of --years, e.g. 2027-06-30")
    .option("--key-size <bits>", "RSA key size: 2048, 3072 or 4096", "2048")
    .option("--cer-path <file>", "where to write the public certificate (DER) (default: ./<dns-name>.cer)");
  addOutputOption(cmd);
  withExamples(cmd, [
    "exo-cba cert new --dns-name contoso.onmicrosoft.com --friendly-name 'EXO automation'",
    "exo-cba cert new --dns-name exo-reports.contoso.com --years 2 --key-size 3072 --cer-path ./exo.cer",
    "EXO_CERT_STORE_PASSPHRASE=$(cat /run/secrets/store) exo-cba cert new --dns-name contoso.onmicrosoft.com",
  ]);
  cmd.action(async (opts: Record<string, unknown>) => {
    const { createSelfSignedCertificate } = await import("../../../cert/index.js");
    const { detail } = await import("./common.js");
    const format = outputFormatFrom(opts);
    const dnsName = String(opts.dnsName);
    const keySize = Number(opts.keySize);
    const years = opts.years === undefined ? undefined : Number(opts.years);
    let notAfter: Date | undefined;
    if (typeof opts.notAfter === "string") {
      notAfter = new Date(opts.notAfter);
      if (Number.isNaN(notAfter.getTime())) {
        throw new UsageError(`'${opts.notAfter}' is not a date.`, { hint: "Use ISO form, e.g. 2027-06-30." });
      }
    }
    const cerPath =
      typeof opts.cerPath === "string"
        ? opts.cerPath
        : join(process.cwd(), `${dnsName.replace(/\*/g, "wildcard")}.cer`);
    const created = await createSelfSignedCertificate({
      home: stateHome(ctx.env),
      env: ctx.env,
      dnsName,
      keySize,
      cerPath,
      ...(typeof opts.friendlyName === "string" ? { friendlyName: opts.friendlyName } : {}),
      ...(years !== undefined ? { years } : {}),
      ...(notAfter ? { notAfter } : {}),
    });
    renderObject({ ...detail(created), cerPath: created.cerPath }, format, ctx.stdout);
    ctx.stderr.write(
      `Certificate ${created.thumbprint} stored with its private key. Upload ${created.cerPath} to the app registration\n` +
        "(Certificates & secrets), or let `exo-cba setup --certificate-thumbprint` do it.\n",
    );
  });
}
