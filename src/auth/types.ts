/** An access token and when it stops being valid (ms since the epoch). */
export interface AccessToken {
  token: string;
  expiresOnTimestamp: number;
}

/**
 * Something that hands out bearer tokens for one resource. Kinds: certificate (MSAL), external signer,
 * managed identity, caller-supplied token. Implementations never log or print the token.
 */
export interface TokenProvider {
  getToken(options?: { forceRefresh?: boolean }): Promise<AccessToken>;
  readonly kind: string;
}

/** A signing callback for a key that never leaves its vault/HSM: returns the RSA-PSS SHA-256 signature. */
export type ExternalSigner = (signingInput: Uint8Array) => Promise<Uint8Array>;
