import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { rc2CbcDecrypt } from "./rc2.js";

describe("rc2CbcDecrypt", () => {
  it("decrypts what the openssl CLI encrypts with RC2-40-CBC and RC2-128-CBC", () => {
    for (const [cipher, keyBytes, bits] of [
      ["rc2-40-cbc", 5, 40],
      ["rc2-cbc", 16, 128],
    ] as const) {
      const key = randomBytes(keyBytes);
      const iv = randomBytes(8);
      const plain = randomBytes(45);
      const encrypted = opensslEncrypt(cipher, key, iv, plain);
      expect(rc2CbcDecrypt(key, bits, iv, encrypted)).toEqual(plain);
    }
  });

  it("says bad decrypt when the padding is wrong", () => {
    expect(() => rc2CbcDecrypt(randomBytes(5), 40, randomBytes(8), Buffer.alloc(16, 1))).toThrow(
      /bad decrypt|wrong/,
    );
  });
});

/** The independent implementation: OpenSSL's legacy provider, through the CLI. */
function opensslEncrypt(cipher: string, key: Buffer, iv: Buffer, plain: Buffer): Buffer {
  const args = [
    "enc",
    `-${cipher}`,
    "-provider",
    "legacy",
    "-provider",
    "default",
    "-K",
    key.toString("hex"),
  ];
  const r = spawnSync("openssl", [...args, "-iv", iv.toString("hex")], { input: plain });
  if (r.status !== 0) throw new Error(`openssl enc failed: ${r.stderr.toString()}`);
  return r.stdout;
}
