import type { Command } from "commander";
import { stateHome } from "../../../config/home.js";
import type { CliContext } from "../../context.js";
import { addOutputOption, outputFormatFrom, withExamples } from "../../options.js";
import { renderObject } from "../../render.js";

/** `exo-cba cert csr --dns-name NAME [--subject DN] --out FILE`: a request for an internal CA. */
export function register(parent: Command, ctx: CliContext): void {
  const cmd = parent
    .command("csr")
    .description(
      "create a PKCS#10 certificate request for your CA; the private key waits in the local store " +
        "until `exo-cba cert import` brings the issued certificate",
    )
    .requiredOption("--dns-name <name>", "DNS name for the subject alternative name (and CN by default)")
    .option("--subject <dn>", "subject distinguished name (default: CN=<dns-name>)")
    .option("--key-size <bits>", "RSA key size: 2048, 3072 or 4096", "2048")
    .requiredOption("--out <file>", "where to write the request (PEM)");
  addOutputOption(cmd);
  withExamples(cmd, [
    "exo-cba cert csr --dns-name exo-automation.contoso.com --out exo.csr",
    "exo-cba cert csr --dns-name exo-automation.contoso.com --subject 'CN=exo-automation, O=Contoso, C=US' --out exo.csr",
  ]);
  cmd.action(async (opts: Record<string, unknown>) => {
    const { createCertificateRequest } = await import("../../../cert/index.js");
    const format = outputFormatFrom(opts);
    const result = await createCertificateRequest({
      home: stateHome(ctx.env),
      env: ctx.env,
      dnsName: String(opts.dnsName),
      keySize: Number(opts.keySize),
      outPath: String(opts.out),
      ...(typeof opts.subject === "string" ? { subject: opts.subject } : {}),
    });
    renderObject(
      { subject: result.subject, dnsName: result.dnsName, out: result.outPath },
      format,
      ctx.stdout,
    );
    ctx.stderr.write(
      `Send ${result.outPath} to your CA; then run \`exo-cba cert import <issued certificate>\` to pair it with its key.\n`,
    );
  });
}
