/** Validation of the names that go into certificates and requests (no crypto library needed). */
import { UsageError } from "../errors.js";

/** New-SelfSignedCertificate backdates by 10 minutes so clocks a little behind still accept the cert. */
export const BACKDATE_MS = 10 * 60_000;

const LABEL = "[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?";
const DNS_NAME = new RegExp(`^(?:\\*\\.)?${LABEL}(?:\\.${LABEL})*\\.?$`, "i");

/** A host name (optionally a `*.` wildcard); refuses URLs, spaces, e-mail addresses. */
export function validateDnsName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length === 0 || trimmed.length > 253 || !DNS_NAME.test(trimmed)) {
    throw new UsageError(`'${name}' is not a DNS name.`, {
      hint: "Give a host or domain name such as contoso.onmicrosoft.com or exo-automation.contoso.com (no scheme, no path).",
    });
  }
  return trimmed.replace(/\.$/, "").toLowerCase();
}

/** A distinguished name like `CN=app, O=Contoso, C=US`; returned with `, ` between its parts. */
export function validateSubject(dn: string): string {
  const parts = dn.split(/(?<!\\),/).map((p) => p.trim());
  if (!parts.every((p) => /^[A-Za-z][A-Za-z0-9.-]*\s*=\s*\S/.test(p))) {
    throw new UsageError(`'${dn}' is not a distinguished name.`, {
      hint: "Use the form CN=name, O=Organization, C=US.",
    });
  }
  return parts.join(", ");
}
