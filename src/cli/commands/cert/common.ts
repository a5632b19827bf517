/** Helpers shared by the `cert` subcommands: password sourcing and the rows they print. */

import type { CertificateInfo } from "../../../cert/types.js";
import { readPasswordFile } from "../../../config/connection.js";
import type { CliContext } from "../../context.js";

export const PASSWORD_ENV = "EXO_CERTIFICATE_PASSWORD";
export const PASSWORD_HINT = `Set ${PASSWORD_ENV} or pass --password-file FILE (the password is never taken as a flag value).`;

/** The file password: `--password-file` first, then EXO_CERTIFICATE_PASSWORD; undefined when neither. */
export async function passwordFrom(
  ctx: Pick<CliContext, "env">,
  passwordFile: string | undefined,
): Promise<string | undefined> {
  if (passwordFile !== undefined) return readPasswordFile(passwordFile);
  const fromEnv = ctx.env[PASSWORD_ENV];
  return fromEnv === undefined || fromEnv === "" ? undefined : fromEnv;
}

/** One line of `cert list`. */
export function listRow(info: CertificateInfo) {
  return {
    thumbprint: info.thumbprint,
    subject: info.subject,
    friendlyName: info.friendlyName ?? "",
    notBefore: info.notBefore,
    notAfter: info.notAfter,
    daysLeft: info.daysLeft,
    hasKey: info.hasKey,
    origin: info.origin,
  };
}

/** Everything about one certificate (`cert show`, and what `new`/`import` print). */
export function detail(info: CertificateInfo) {
  return {
    thumbprint: info.thumbprint,
    thumbprintSha256: info.thumbprintSha256,
    subject: info.subject,
    issuer: info.issuer,
    dnsNames: info.dnsNames,
    friendlyName: info.friendlyName ?? "",
    notBefore: info.notBefore,
    notAfter: info.notAfter,
    daysLeft: info.daysLeft,
    keyAlgorithm: info.keyAlgorithm,
    keySize: info.keySize,
    serialNumber: info.serialNumber,
    hasKey: info.hasKey,
    origin: info.origin,
  };
}
