import { AuthenticationError } from "../errors.js";
import { decodeJwtClaims } from "./jwt.js";
import type { AccessToken, TokenProvider } from "./types.js";

/**
 * A caller-supplied access token (like `Connect-ExchangeOnline -AccessToken`): the caller owns renewal.
 * Its expiry is read from the `exp` claim when it is a JWT; an expired token fails before any call.
 */
export class StaticTokenProvider implements TokenProvider {
  readonly kind = "access-token";
  private readonly expiresOnTimestamp: number;

  constructor(
    private readonly accessToken: string,
    private readonly now: () => number = Date.now,
  ) {
    const exp = decodeJwtClaims(accessToken)?.exp;
    // An opaque token: assume an hour (what Entra issues); the server will say if it is older.
    this.expiresOnTimestamp = typeof exp === "number" ? exp * 1000 : now() + 3_600_000;
  }

  async getToken(): Promise<AccessToken> {
    if (this.expiresOnTimestamp <= this.now()) {
      throw new AuthenticationError("The access token you supplied has expired.", {
        hint: "Get a fresh one (e.g. `exo-cba token`) or connect with a certificate so tokens renew themselves.",
      });
    }
    return { token: this.accessToken, expiresOnTimestamp: this.expiresOnTimestamp };
  }
}
