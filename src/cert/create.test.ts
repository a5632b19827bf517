import { X509Certificate } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { modeOf, openssl, snapshot, tempDir } from "../../test/helpers/cert-fixtures.js";
import { homePaths } from "../config/home.js";
import { UsageError } from "../errors.js";
import { createCertificateRequest, createSelfSignedCertificate } from "./create.js";
import { CertStore } from "./store.js";

// A fixed clock: the validity window can then be checked against literal dates.
const NOW = new Date("2026-03-01T12:00:00.000Z");
const now = () => NOW;

describe("createSelfSignedCertificate", () => {
  let home: string;
  let cerPath: string;
  let created: Awaited<ReturnType<typeof createSelfSignedCertificate>>;
  let text: string;

  beforeAll(async () => {
    home = await tempDir();
    cerPath = join(home, "exo.cer"); // the folder must exist: --cer-path makes none
    created = await createSelfSignedCertificate({
      home,
      env: {},
      dnsName: "Exo-Automation.Contoso.com",
      friendlyName: "EXO automation",
      cerPath,
      now,
    });
    text = openssl(["x509", "-inform", "DER", "-in", cerPath, "-noout", "-text", "-dates"]);
  });

  it("writes a DER .cer in the shape of New-SelfSignedCertificate, as openssl reads it", () => {
    expect(text).toMatch(/Signature Algorithm: sha256WithRSAEncryption/);
    expect(text).toMatch(/Public-Key: \(2048 bit\)/);
    expect(text).toMatch(/Exponent: 65537/);
    expect(text).toMatch(/Subject: CN ?= ?exo-automation\.contoso\.com/);
    expect(text).toMatch(/Issuer: CN ?= ?exo-automation\.contoso\.com/);
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Digital Signature, Key Encipherment/);
    expect(text).toMatch(
      /X509v3 Extended Key Usage:\s+TLS Web Client Authentication, TLS Web Server Authentication/,
    );
    expect(text).toMatch(/X509v3 Subject Alternative Name:\s+DNS:exo-automation\.contoso\.com/);
    expect(text).toMatch(/X509v3 Subject Key Identifier/);
    expect(text).not.toMatch(/Basic Constraints/);
    // Ten minutes backdated, one year long.
    expect(text).toMatch(/notBefore=Mar {2}1 11:50:00 2026 GMT/);
    expect(text).toMatch(/notAfter=Mar {2}1 12:00:00 2027 GMT/);
  });

  it("reports SHA-1 and SHA-256 thumbprints as openssl and Node compute them", () => {
    const sha1 = openssl(["x509", "-inform", "DER", "-in", cerPath, "-noout", "-fingerprint", "-sha1"]);
    const sha256 = openssl(["x509", "-inform", "DER", "-in", cerPath, "-noout", "-fingerprint", "-sha256"]);
    expect(created.thumbprint).toMatch(/^[0-9A-F]{40}$/);
    expect(sha1.split("=")[1]!.trim().replace(/:/g, "")).toBe(created.thumbprint);
    expect(sha256.split("=")[1]!.trim().replace(/:/g, "")).toBe(created.thumbprintSha256);
    expect(created.serialNumber).toMatch(/^[0-7][0-9A-F]{31}$/);
    expect(created.keySize).toBe(2048);
    expect(created.daysLeft).toBe(365);
    expect(created.origin).toBe("self-signed");
    expect(created.friendlyName).toBe("EXO automation");
  });

  it("stores a key that matches the certificate, owner-only", async () => {
    const store = await CertStore.open(home, {}, { now });
    const credential = await store.credential(created.thumbprint.toLowerCase());
    const keyFile = join(home, "k.pem");
    await writeFile(keyFile, credential.privateKeyPem);
    const keyModulus = openssl(["rsa", "-in", keyFile, "-noout", "-modulus"]);
    const certModulus = openssl(["x509", "-inform", "DER", "-in", cerPath, "-noout", "-modulus"]);
    expect(keyModulus).toBe(certModulus);
    const node = new X509Certificate(await readFile(cerPath));
    expect(
      node.checkPrivateKey((await import("node:crypto")).createPrivateKey(credential.privateKeyPem)),
    ).toBe(true);
    expect(node.keyUsage).toContain("1.3.6.1.5.5.7.3.2");

    const dir = homePaths(home).certStore;
    expect(await modeOf(dir)).toBe(0o700);
    expect(await modeOf(join(dir, "keys"))).toBe(0o700);
    expect(await modeOf(join(dir, "certs"))).toBe(0o700);
    const files = Object.keys(await snapshot(dir)).filter((p) => p.endsWith(".pem"));
    expect(files).toHaveLength(1);
    expect(await modeOf(files[0]!)).toBe(0o600);
    expect(await modeOf(join(dir, "certs", `${created.thumbprint}.json`))).toBe(0o600);
  });

  it("honours --not-after and a larger key", async () => {
    const other = await tempDir();
    const result = await createSelfSignedCertificate({
      home: other,
      env: {},
      dnsName: "big.contoso.com",
      keySize: 3072,
      notAfter: new Date("2026-09-01T00:00:00Z"),
      now,
    });
    expect(result.keySize).toBe(3072);
    const pemFile = join(other, "c.pem");
    await writeFile(pemFile, result.certificatePem);
    const out = openssl(["x509", "-in", pemFile, "-noout", "-text", "-enddate"]);
    expect(out).toMatch(/Public-Key: \(3072 bit\)/);
    expect(out).toMatch(/notAfter=Sep {2}1 00:00:00 2026 GMT/);
  });

  it.each([
    ["a key below 2048 bits", { keySize: 1024 }, /1024 is not allowed/],
    ["an odd key size", { keySize: 2047 }, /not allowed/],
    ["a name with a space", { dnsName: "not a name" }, /is not a DNS name/],
    ["a URL", { dnsName: "https://contoso.com/x" }, /is not a DNS name/],
    ["an end date in the past", { notAfter: new Date("2026-01-01T00:00:00Z") }, /not in the future/],
    ["zero years", { years: 0 }, /--years must be/],
    ["both --years and --not-after", { years: 1, notAfter: new Date("2027-01-01") }, /not both/],
  ])("refuses %s with a UsageError and writes nothing", async (_label, override, message) => {
    const fresh = await tempDir();
    const cer = join(fresh, "x.cer");
    const before = await snapshot(fresh);
    const error = await createSelfSignedCertificate({
      home: fresh,
      env: {},
      dnsName: "ok.contoso.com",
      cerPath: cer,
      now,
      ...override,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(2);
    expect((error as UsageError).message).toMatch(message);
    expect(await snapshot(fresh)).toEqual(before);
  });
});

describe("createCertificateRequest", () => {
  it("writes a PKCS#10 request openssl verifies, with the subject and SAN asked for; the key waits in the store", async () => {
    const home = await tempDir();
    const out = join(home, "req.csr");
    const result = await createCertificateRequest({
      home,
      env: {},
      dnsName: "exo.contoso.com",
      subject: "CN=exo-automation, O=Contoso, C=US",
      outPath: out,
    });
    const text = openssl(["req", "-in", out, "-noout", "-verify", "-text"]);
    expect(text).toMatch(/verify OK|Certificate request self-signature verify OK/);
    expect(text).toMatch(/Subject: CN ?= ?exo-automation, O ?= ?Contoso, C ?= ?US/);
    expect(text).toMatch(/DNS:exo\.contoso\.com/);
    expect(text).toMatch(/TLS Web Client Authentication/);
    expect(text).toMatch(/Public-Key: \(2048 bit\)/);
    const store = await CertStore.open(home, {});
    expect(await store.hasKey(result.keyId)).toBe(true);
    expect(await store.list()).toEqual([]);
  });

  it("refuses a malformed subject and writes nothing", async () => {
    const home = await tempDir();
    const before = await snapshot(home);
    await expect(
      createCertificateRequest({
        home,
        env: {},
        dnsName: "exo.contoso.com",
        subject: "garbage",
        outPath: join(home, "r"),
      }),
    ).rejects.toThrow(/not a distinguished name/);
    expect(await snapshot(home)).toEqual(before);
  });
});
