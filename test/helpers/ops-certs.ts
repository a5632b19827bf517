import { CertStore, createSelfSignedCertificate } from "../../src/cert/index.js";
import type { KeyedCertificate } from "../../src/lifecycle/app-keys.js";

/** A real self-signed certificate with its key, stored in `home` (RSA 2048: create once per file). */
export async function makeKeyedCertificate(
  home: string,
  dnsName = "contoso.onmicrosoft.com",
  options: { notAfter?: Date; now?: () => Date } = {},
): Promise<KeyedCertificate> {
  const info = await createSelfSignedCertificate({
    home,
    env: {},
    dnsName,
    ...(options.notAfter ? { notAfter: options.notAfter } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  const credential = await (await CertStore.open(home, {})).credential(info.thumbprint);
  return {
    thumbprint: credential.thumbprint,
    certificatePem: credential.certificatePem,
    privateKeyPem: credential.privateKeyPem,
    subject: credential.subject,
    notBefore: credential.notBefore,
    notAfter: credential.notAfter,
  };
}
