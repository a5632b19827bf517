import { createPrivateKey } from "node:crypto";
import { chmod, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { modeOf, openssl, snapshot, tempDir } from "../../test/helpers/cert-fixtures.js";
import { homePaths } from "../config/home.js";
import { UsageError } from "../errors.js";
import { createSelfSignedCertificate } from "./create.js";
import { generateRsaKeyPair } from "./keys.js";
import { CertStore } from "./store.js";

async function expectUsageError(promise: Promise<unknown>, message: RegExp) {
  const error = await promise.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(UsageError);
  expect((error as UsageError).exitCode).toBe(2);
  expect((error as UsageError).message).toMatch(message);
  return error as UsageError;
}

describe("CertStore", () => {
  let home: string;
  let thumbprint: string;
  let thumbprintSha256: string;
  const env = {};

  beforeAll(async () => {
    home = await tempDir();
    const created = await createSelfSignedCertificate({
      home,
      env,
      dnsName: "store.contoso.com",
      friendlyName: "one",
    });
    thumbprint = created.thumbprint;
    thumbprintSha256 = created.thumbprintSha256;
  });

  it("finds a certificate by any spelling of its SHA-1 thumbprint, or by SHA-256", async () => {
    const store = await CertStore.open(home, env);
    const colons = thumbprint.toLowerCase().match(/../g)!.join(":");
    const spaced = thumbprint.match(/.{4}/g)!.join(" ");
    for (const spelling of [thumbprint, colons, spaced, thumbprintSha256.toLowerCase()]) {
      expect((await store.get(spelling)).thumbprint).toBe(thumbprint);
      expect(await store.hasCertificate(spelling)).toBe(true);
    }
    expect(await store.hasCertificate("AB".repeat(20))).toBe(false);
    expect(await store.hasCertificate("AB".repeat(32))).toBe(false);
  });

  it("lists certificates with the fields the CLI shows, and ignores keys still waiting for a certificate", async () => {
    const store = await CertStore.open(home, env);
    await store.saveKey((await generateRsaKeyPair(2048)).privateKey);
    const list = await store.list();
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({
      thumbprint,
      subject: "CN=store.contoso.com",
      friendlyName: "one",
      hasKey: true,
      origin: "self-signed",
      dnsNames: ["store.contoso.com"],
    });
  });

  it("refuses an unknown thumbprint and a malformed one", async () => {
    const store = await CertStore.open(home, env);
    await expectUsageError(store.get("00".repeat(20)), /No certificate with thumbprint 0{40}/);
    await expectUsageError(store.get("xyz"), /not a certificate thumbprint/);
  });

  it("refuses a key file that other users can read, as ssh does, and accepts it again once fixed", async () => {
    const store = await CertStore.open(home, env);
    const keyFile = join(homePaths(home).certStore, "keys", `${(await store.get(thumbprint)).keyId}.pem`);
    await chmod(keyFile, 0o644);
    const error = await expectUsageError(store.credential(thumbprint), /readable by other users/);
    expect(error.hint).toMatch(/chmod 600/);
    await chmod(keyFile, 0o600);
    await expect(store.credential(thumbprint)).resolves.toMatchObject({ thumbprint });
  });

  it("removes a certificate together with its key", async () => {
    const other = await tempDir();
    const created = await createSelfSignedCertificate({ home: other, env, dnsName: "gone.contoso.com" });
    const store = await CertStore.open(other, env);
    await store.remove(created.thumbprint.toLowerCase());
    expect(await store.list()).toEqual([]);
    const files = Object.keys(await snapshot(homePaths(other).certStore)).filter((p) => !p.endsWith("/"));
    expect(files).toEqual([]);
    await expectUsageError(store.remove(created.thumbprint), /No certificate/);
  });

  it("reports a damaged entry instead of crashing", async () => {
    const other = await tempDir();
    const created = await createSelfSignedCertificate({ home: other, env, dnsName: "damaged.contoso.com" });
    await writeFile(join(homePaths(other).certStore, "certs", `${created.thumbprint}.json`), "{ half");
    await expectUsageError((await CertStore.open(other, env)).get(created.thumbprint), /damaged/);
  });
});

describe("CertStore with EXO_CERT_STORE_PASSPHRASE", () => {
  const passphrase = "correct horse battery staple 9f1c";
  let home: string;
  let thumbprint: string;
  let keyFile: string;

  beforeAll(async () => {
    home = await tempDir();
    const created = await createSelfSignedCertificate({
      home,
      env: { EXO_CERT_STORE_PASSPHRASE: passphrase },
      dnsName: "vault.contoso.com",
    });
    thumbprint = created.thumbprint;
    keyFile = join(homePaths(home).certStore, "keys", `${created.keyId}.pem`);
  });

  it("stores the key as encrypted PKCS#8 that openssl decrypts with the passphrase", async () => {
    const pem = await readFile(keyFile, "utf8");
    expect(pem).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    expect(await modeOf(keyFile)).toBe(0o600);
    const asn1 = openssl(["asn1parse", "-in", keyFile]);
    expect(asn1).toMatch(/PBES2/);
    expect(asn1).toMatch(/hmacWithSHA256/);
    expect(asn1).toMatch(/aes-256-cbc/);
    expect(asn1).toMatch(/INTEGER\s+:030D40/); // 200 000 PBKDF2 iterations, not Node's fixed 2048
    const clear = openssl(["pkey", "-in", keyFile, "-passin", "env:P", "-noout", "-text"], {
      env: { P: passphrase },
    });
    expect(clear).toMatch(/Private-Key: \(2048 bit/);
  });

  it("decrypts in memory with the right passphrase", async () => {
    const store = await CertStore.open(home, { EXO_CERT_STORE_PASSPHRASE: passphrase });
    const credential = await store.credential(thumbprint);
    expect(credential.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    // The parsed key travels with it (what signs); the PEM is its export, the same key.
    expect(credential.privateKey?.asymmetricKeyType).toBe("rsa");
    expect(createPrivateKey(credential.privateKeyPem).export({ type: "pkcs1", format: "pem" })).toBe(
      credential.privateKey?.export({ type: "pkcs1", format: "pem" }),
    );
  });

  it("refuses a missing or wrong passphrase with a hint", async () => {
    const missing = await expectUsageError(
      (await CertStore.open(home, {})).credential(thumbprint),
      /encrypted/,
    );
    expect(missing.hint).toMatch(/EXO_CERT_STORE_PASSPHRASE/);
    const wrong = await expectUsageError(
      (await CertStore.open(home, { EXO_CERT_STORE_PASSPHRASE: "wrong" })).credential(thumbprint),
      /Cannot decrypt/,
    );
    expect(wrong.hint).toMatch(/EXO_CERT_STORE_PASSPHRASE/);
  });
});
