import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { openssl, opensslSelfSigned, snapshot, tempDir } from "../../test/helpers/cert-fixtures.js";
import { UsageError } from "../errors.js";
import { createCertificateRequest } from "./create.js";
import { loadCertificateCredential } from "./credential.js";
import { exportPfx } from "./export.js";
import { importCertificate } from "./import.js";
import { CertStore } from "./store.js";

const PW = "import-pässword";

async function expectRefused(promise: Promise<unknown>, message: RegExp) {
  const error = await promise.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(UsageError);
  expect((error as UsageError).exitCode).toBe(2);
  expect((error as UsageError).message).toMatch(message);
  return error as UsageError;
}

/** A throwaway CA (openssl), and a request from our store that it signs. */
describe("CSR → CA → import", () => {
  let work: string;
  let home: string;
  let issued: string;

  beforeAll(async () => {
    work = await tempDir();
    home = join(work, "home");
    opensslSelfSigned({
      keyOut: join(work, "ca.key"),
      certOut: join(work, "ca.pem"),
      subject: "/CN=Contoso Test CA",
      days: 30,
      extra: ["-addext", "basicConstraints=critical,CA:TRUE"],
    });
    await createCertificateRequest({
      home,
      env: {},
      dnsName: "exo.contoso.com",
      outPath: join(work, "req.csr"),
    });
    issued = join(work, "issued.cer");
    openssl([
      "x509",
      "-req",
      "-in",
      join(work, "req.csr"),
      "-CA",
      join(work, "ca.pem"),
      "-CAkey",
      join(work, "ca.key"),
      "-CAcreateserial",
      "-days",
      "20",
      "-copy_extensions",
      "copy",
      "-outform",
      "DER",
      "-out",
      issued,
    ]);
  });

  it("refuses a certificate whose key is not in the store (the CA's own) and writes nothing", async () => {
    const before = await snapshot(home);
    const error = await expectRefused(
      importCertificate({ home, env: {}, path: join(work, "ca.pem") }),
      /private key of the certificate .* is not in the local store/,
    );
    expect(error.hint).toMatch(/cert csr/);
    expect(await snapshot(home)).toEqual(before);
  });

  it("pairs the issued DER certificate with the key its request left waiting", async () => {
    const result = await importCertificate({ home, env: {}, path: issued });
    expect(result.key).toBe("waiting-in-store");
    expect(result.certificate).toMatchObject({
      subject: "CN=exo.contoso.com",
      issuer: "CN=Contoso Test CA",
      origin: "ca",
      hasKey: true,
      dnsNames: ["exo.contoso.com"],
    });
    const credential = await loadCertificateCredential(
      { kind: "thumbprint", thumbprint: result.certificate.thumbprint },
      { home },
    );
    await writeFile(join(work, "paired.key"), credential.privateKeyPem);
    expect(openssl(["rsa", "-in", join(work, "paired.key"), "-noout", "-modulus"])).toBe(
      openssl(["x509", "-inform", "DER", "-in", issued, "-noout", "-modulus"]),
    );
    // Importing it again changes nothing.
    const before = await snapshot(home);
    expect((await importCertificate({ home, env: {}, path: issued })).alreadyInStore).toBe(true);
    expect(await snapshot(home)).toEqual(before);
  });

  it("keeps the issuer chain from a PKCS#7 bundle", async () => {
    const other = join(work, "home2");
    await createCertificateRequest({
      home: other,
      env: {},
      dnsName: "p7.contoso.com",
      outPath: join(work, "p7.csr"),
    });
    openssl([
      "x509",
      "-req",
      "-in",
      join(work, "p7.csr"),
      "-CA",
      join(work, "ca.pem"),
      "-CAkey",
      join(work, "ca.key"),
      "-CAcreateserial",
      "-days",
      "20",
      "-out",
      join(work, "p7-leaf.pem"),
    ]);
    const p7b = join(work, "chain.p7b");
    openssl([
      "crl2pkcs7",
      "-nocrl",
      "-certfile",
      join(work, "ca.pem"),
      "-certfile",
      join(work, "p7-leaf.pem"),
      "-outform",
      "DER",
      "-out",
      p7b,
    ]);
    const result = await importCertificate({ home: other, env: {}, path: p7b });
    expect(result.certificate.subject).toBe("CN=p7.contoso.com");
    const credential = await (await CertStore.open(other, {})).credential(result.certificate.thumbprint);
    expect(credential.chainPem).toHaveLength(1);
    // The chain travels on into an exported PFX, leaf first.
    const pfx = join(work, "chain.pfx");
    await writeFile(pfx, await exportPfx(credential, { password: "chain-pw" }));
    const certs = openssl(["pkcs12", "-in", pfx, "-passin", "pass:chain-pw", "-nokeys"]);
    expect(certs.match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(2);
    expect(certs).toMatch(/subject=CN ?= ?p7\.contoso\.com[\s\S]*subject=CN ?= ?Contoso Test CA/);
    expect(credential.chainPem![0]).toBe((await readFile(join(work, "ca.pem"), "utf8")).replace(/\r/g, ""));
  });
});

describe("importing files that carry their own key", () => {
  let work: string;
  beforeAll(async () => {
    work = await tempDir();
    const req = (name: string, key: string, extra: string[] = []) =>
      opensslSelfSigned({
        newKey: key,
        keyOut: join(work, `${name}.key`),
        certOut: join(work, `${name}.pem`),
        subject: `/CN=${name}.contoso.com`,
        days: 10,
        extra: extra,
      });
    req("good", "rsa:2048");
    req("other", "rsa:2048");
    req("small", "rsa:1024");
    req("ec", "ec", ["-pkeyopt", "ec_paramgen_curve:P-256"]);
    const pfx = (name: string) =>
      openssl(
        [
          "pkcs12",
          "-export",
          "-in",
          join(work, `${name}.pem`),
          "-inkey",
          join(work, `${name}.key`),
          "-name",
          `${name} friendly`,
          "-out",
          join(work, `${name}.pfx`),
          "-passout",
          "env:PW",
        ],
        { env: { PW } },
      );
    pfx("good");
    pfx("small");
    pfx("ec");
    const cat = async (out: string, ...files: string[]) =>
      writeFile(
        join(work, out),
        (await Promise.all(files.map((f) => readFile(join(work, f), "utf8")))).join(""),
      );
    await cat("good-bundle.pem", "good.pem", "good.key");
    await cat("mismatch.pem", "good.pem", "other.key");
    openssl(
      [
        "pkcs8",
        "-topk8",
        "-in",
        join(work, "good.key"),
        "-out",
        join(work, "good-enc.key"),
        "-passout",
        "env:PW",
      ],
      {
        env: { PW },
      },
    );
    await cat("good-enc-bundle.pem", "good.pem", "good-enc.key");
    await writeFile(join(work, "garbage.pfx"), Buffer.from("3082 not really a pfx at all"));
  });

  it("imports a PFX with its key and friendly name; a later import restores a lost key", async () => {
    const home = await tempDir();
    const result = await importCertificate({ home, env: {}, path: join(work, "good.pfx"), password: PW });
    expect(result.key).toBe("from-file");
    expect(result.certificate).toMatchObject({
      origin: "imported",
      hasKey: true,
      friendlyName: "good friendly",
    });

    // A key lost from the store comes back with the next import of the same pair.
    await rm(join(home, "certificates", "keys", `${result.certificate.keyId}.pem`));
    expect((await (await CertStore.open(home, {})).get(result.certificate.thumbprint)).hasKey).toBe(false);
    const again = await importCertificate({ home, env: {}, path: join(work, "good-bundle.pem") });
    expect(again).toMatchObject({ alreadyInStore: true, key: "from-file" });
    expect(again.certificate.hasKey).toBe(true);
  });

  it("imports PEM with certificate and key, and PEM with an encrypted key", async () => {
    for (const [file, password] of [
      ["good-bundle.pem", undefined],
      ["good-enc-bundle.pem", PW],
    ] as const) {
      const home = await tempDir();
      const result = await importCertificate({
        home,
        env: {},
        path: join(work, file),
        ...(password ? { password } : {}),
      });
      expect(result.certificate).toMatchObject({
        subject: "CN=good.contoso.com",
        hasKey: true,
        origin: "imported",
      });
    }
  });

  it.each([
    ["a wrong PFX password", "good.pfx", { password: "wrong" }, /Wrong password/],
    ["a PFX without password", "good.pfx", {}, /Wrong password/],
    ["an encrypted PEM key without password", "good-enc-bundle.pem", {}, /encrypted and no password/],
    ["a certificate/key mismatch", "mismatch.pem", {}, /does not belong to any certificate/],
    ["an RSA key below 2048 bits", "small.pfx", { password: PW }, /1024 bits/],
    ["a non-RSA key", "ec.pfx", { password: PW }, /EC key; Microsoft Entra ID only accepts RSA/],
    ["a corrupt file", "garbage.pfx", {}, /neither PEM nor DER|not a readable/],
    ["a missing file", "nope.pfx", {}, /Cannot read/],
    ["a key without certificate", "good.key", {}, /holds no certificate/],
  ])("refuses %s (exit 2) and writes nothing", async (_label, file, extra, message) => {
    const home = await tempDir();
    const before = await snapshot(home);
    await expectRefused(importCertificate({ home, env: {}, path: join(work, file), ...extra }), message);
    expect(await snapshot(home)).toEqual(before);
  });

  it("refuses an expired certificate unless forced, then warns", async () => {
    const home = await tempDir();
    const later = () => new Date(Date.now() + 30 * 86_400_000);
    const before = await snapshot(home);
    const error = await expectRefused(
      importCertificate({ home, env: {}, path: join(work, "good.pfx"), password: PW, now: later }),
      /expired on/,
    );
    expect(error.hint).toMatch(/--force/);
    expect(await snapshot(home)).toEqual(before);
    const forced = await importCertificate({
      home,
      env: {},
      path: join(work, "good.pfx"),
      password: PW,
      now: later,
      force: true,
    });
    expect(forced.warnings.join()).toMatch(/expired/);
    expect(forced.certificate.daysLeft).toBeLessThan(0);
  });

  it("loads a credential straight from a PFX or PEM file", async () => {
    const fromPfx = await loadCertificateCredential(
      { kind: "file", path: join(work, "good.pfx"), password: PW },
      { home: work },
    );
    const fromPem = await loadCertificateCredential(
      { kind: "file", path: join(work, "good-bundle.pem") },
      { home: work },
    );
    expect(fromPfx.thumbprint).toBe(fromPem.thumbprint);
    expect(fromPfx.privateKeyPem).toBe(fromPem.privateKeyPem);
    expect(fromPfx.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const expected = openssl(["x509", "-in", join(work, "good.pem"), "-noout", "-fingerprint", "-sha1"]);
    expect(expected.split("=")[1]!.trim().replace(/:/g, "")).toBe(fromPfx.thumbprint);
    await expectRefused(
      loadCertificateCredential({ kind: "file", path: join(work, "good.pem") }, { home: work }),
      /holds no private key/,
    );
  });
});
