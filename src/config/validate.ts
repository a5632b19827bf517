import { UsageError } from "../errors.js";

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

export const isGuid = (value: string) => GUID.test(value);
export const isDomainName = (value: string) => DOMAIN.test(value);

export function validateAppId(value: string): string {
  if (!isGuid(value)) {
    throw new UsageError(`The app id '${value}' is not a GUID.`, {
      hint: "Use the Application (client) ID shown on the app's overview page, e.g. 11111111-2222-3333-4444-555555555555.",
    });
  }
  return value.toLowerCase();
}

/** Organization: a tenant GUID or a domain (the primary `*.onmicrosoft.com` domain is recommended). */
export function validateOrganization(value: string): string {
  if (isGuid(value)) return value.toLowerCase();
  if (isDomainName(value)) return value.toLowerCase();
  throw new UsageError(`The organization '${value}' is neither a tenant id nor a domain name.`, {
    hint: "Use the primary domain, e.g. contoso.onmicrosoft.com, or the tenant id GUID.",
  });
}

/** Thumbprints are accepted in any case, with or without spaces or colons; returned as 40/64 upper-case hex. */
export function normalizeThumbprint(value: string): string {
  const hex = value.replace(/[\s:]/g, "").toUpperCase();
  if (!/^[0-9A-F]{40}$/.test(hex) && !/^[0-9A-F]{64}$/.test(hex)) {
    throw new UsageError(`'${value}' is not a certificate thumbprint.`, {
      hint: "A thumbprint is 40 hexadecimal characters (SHA-1), as the Azure portal shows it; `exo-cba cert list` shows yours.",
    });
  }
  return hex;
}
