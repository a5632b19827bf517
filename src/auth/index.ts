export { buildClientAssertion, certificateSha256Thumbprint } from "./assertion.js";
export { CachingTokenProvider, REFRESH_AHEAD_MS } from "./cache.js";
export {
  type CertificateKeyPair,
  ClientCertificateTokenProvider,
  type ClientCredentialOptions,
  sha256ThumbprintHex,
} from "./certificate.js";
export { hintForAadsts, IdentityNetworkObserver, mapIdentityError } from "./identity-errors.js";
export { decodeJwtClaims } from "./jwt.js";
export {
  IMDS_TOKEN_URL,
  type ManagedIdentityOptions,
  ManagedIdentityTokenProvider,
} from "./managed-identity.js";
export {
  DIRECTORY_ROLES,
  type DirectoryRole,
  EXCHANGE_MANAGE_AS_APP,
  type TokenRights,
  tokenRights,
} from "./roles.js";
export { StaticTokenProvider } from "./static-token.js";
export type { AccessToken, ExternalSigner, TokenProvider } from "./types.js";
