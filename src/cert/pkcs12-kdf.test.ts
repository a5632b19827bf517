import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { openssl } from "../../test/helpers/cert-fixtures.js";
import { bmpPassword, pkcs12Kdf } from "./pkcs12-kdf.js";

/** OpenSSL 3's own PKCS12KDF (`openssl kdf`), fed the BMPString password bytes. */
function opensslKdf(
  digest: string,
  password: string,
  salt: Buffer,
  iterations: number,
  id: number,
  length: number,
) {
  const out = openssl([
    "kdf",
    "-keylen",
    String(length),
    "-kdfopt",
    `digest:${digest}`,
    "-kdfopt",
    `hexpass:${bmpPassword(password).toString("hex")}`,
    "-kdfopt",
    `hexsalt:${salt.toString("hex")}`,
    "-kdfopt",
    `iter:${iterations}`,
    "-kdfopt",
    `id:${id}`,
    "PKCS12KDF",
  ]);
  return Buffer.from(out.trim().replace(/:/g, ""), "hex");
}

describe("pkcs12Kdf", () => {
  it("derives what OpenSSL derives, for every purpose, several lengths and a non-ASCII password", () => {
    const cases = [
      ["sha1", "SHA1", "abc", 2048, 1, 24],
      ["sha1", "SHA1", "pässwörd-密码", 2000, 2, 8],
      ["sha1", "SHA1", "", 1, 3, 20],
      ["sha256", "SHA256", "pässwörd-密码", 10_000, 3, 32],
      ["sha256", "SHA256", "x".repeat(70), 5, 1, 100],
      ["sha512", "SHA512", "long enough", 3, 1, 64],
    ] as const;
    for (const [hash, digest, password, iterations, id, length] of cases) {
      const salt = randomBytes(8 + id);
      expect(pkcs12Kdf(hash, password, salt, iterations, id, length).toString("hex")).toBe(
        opensslKdf(digest, password, salt, iterations, id, length).toString("hex"),
      );
    }
  });

  it("writes passwords as BMPString with a terminating zero", () => {
    expect(bmpPassword("aé密").toString("hex")).toBe("006100e95bc60000");
  });
});
