import { join } from "node:path";
import { stateHome } from "../../../config/home.js";
import { outputOption } from "../../common-options.js";
import { defineCommand, option } from "../../define-command.js";
import { date, number, optional, requiredText, text } from "../../option-schemas.js";

/** `exo-cba cert new --dns-name NAME ...`: like New-SelfSignedCertificate followed by Export-Certificate. */
export const command = defineCommand({
  name: "new",
  description:
    "create a self-signed RSA certificate (SHA-256, client authentication) in the local store " +
    "and write its public .cer for upload to the Entra app; prints the thumbprint",
  examples: [
    "exo-cba cert new --dns-name contoso.onmicrosoft.com --friendly-name 'EXO automation'",
    "exo-cba cert new --dns-name exo-reports.contoso.com --years 2 --key-size 3072 --cer-path ./exo.cer",
    "EXO_CERT_STORE_PASSPHRASE=$(cat /run/secrets/store) exo-cba cert new --dns-name contoso.onmicrosoft.com",
  ],
  options: {
    dnsName: option(
      "--dns-name <name>",
      "DNS name: subject CN and subject alternative name",
      requiredText(),
      {
        required: true,
      },
    ),
    friendlyName: option(
      "--friendly-name <text>",
      "friendly name (shown by Windows after a PFX import)",
      text(),
    ),
    years: option("--years <n>", "validity in years (default 1)", optional(number({ min: 1, max: 50 }))),
    notAfter: option(
      "--not-after <date>",
      "end of validity instead of --years, e.g. 2027-06-30",
      optional(date()),
    ),
    // The store checks the size (2048, 3072 or 4096) and says so.
    keySize: option("--key-size <bits>", "RSA key size: 2048, 3072 or 4096", number(), { default: "2048" }),
    cerPath: option(
      "--cer-path <file>",
      "where to write the public certificate (DER) (default: ./<dns-name>.cer)",
      text(),
    ),
    ...outputOption(),
  },
  needs: "none",
  async run(ctx, opts) {
    const { createSelfSignedCertificate } = await import("../../../cert/index.js");
    const { detail } = await import("./common.js");
    const created = await createSelfSignedCertificate({
      home: stateHome(ctx.env),
      env: ctx.env,
      dnsName: opts.dnsName,
      keySize: opts.keySize,
      cerPath: opts.cerPath ?? join(process.cwd(), `${opts.dnsName.replace(/\*/g, "wildcard")}.cer`),
      ...(opts.friendlyName !== undefined ? { friendlyName: opts.friendlyName } : {}),
      ...(opts.years !== undefined ? { years: opts.years } : {}),
      ...(opts.notAfter ? { notAfter: opts.notAfter } : {}),
    });
    ctx.stderr.write(
      `Certificate ${created.thumbprint} stored with its private key. Upload ${created.cerPath} to the app registration\n` +
        "(Certificates & secrets), or let `exo-cba setup --certificate-thumbprint` do it.\n",
    );
    return { ...detail(created), cerPath: created.cerPath };
  },
});
