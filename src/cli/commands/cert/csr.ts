import { stateHome } from "../../../config/home.js";
import { outputOption } from "../../common-options.js";
import { defineCommand, option } from "../../define-command.js";
import { number, requiredText, text } from "../../option-schemas.js";

/** `exo-cba cert csr --dns-name NAME [--subject DN] --out FILE`: a request for an internal CA. */
export const command = defineCommand({
  name: "csr",
  description:
    "create a PKCS#10 certificate request for your CA; the private key waits in the local store " +
    "until `exo-cba cert import` brings the issued certificate",
  examples: [
    "exo-cba cert csr --dns-name exo-automation.contoso.com --out exo.csr",
    "exo-cba cert csr --dns-name exo-automation.contoso.com --subject 'CN=exo-automation, O=Contoso, C=US' --out exo.csr",
  ],
  options: {
    dnsName: option(
      "--dns-name <name>",
      "DNS name for the subject alternative name (and CN by default)",
      requiredText(),
      { required: true },
    ),
    subject: option("--subject <dn>", "subject distinguished name (default: CN=<dns-name>)", text()),
    keySize: option("--key-size <bits>", "RSA key size: 2048, 3072 or 4096", number(), { default: "2048" }),
    out: option("--out <file>", "where to write the request (PEM)", requiredText(), { required: true }),
    ...outputOption(),
  },
  needs: "none",
  async run(ctx, opts) {
    const { createCertificateRequest } = await import("../../../cert/index.js");
    const result = await createCertificateRequest({
      home: stateHome(ctx.env),
      env: ctx.env,
      dnsName: opts.dnsName,
      keySize: opts.keySize,
      outPath: opts.out,
      ...(opts.subject !== undefined ? { subject: opts.subject } : {}),
    });
    return { subject: result.subject, dnsName: result.dnsName, out: result.outPath };
  },
  render(data, opts, ctx) {
    return import("../../render.js").then(({ renderObject }) => {
      renderObject(data, opts.output, ctx.stdout);
      ctx.stderr.write(
        `Send ${data.out} to your CA; then run \`exo-cba cert import <issued certificate>\` to pair it with its key.\n`,
      );
    });
  },
});
