import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createSecureContext } from "node:tls";
import { beforeAll, describe, expect, it } from "vitest";
import { openssl, opensslResult, opensslSelfSigned, tempDir } from "../../test/helpers/cert-fixtures.js";
import { UsageError } from "../errors.js";
import { createSelfSignedCertificate } from "./create.js";
import { exportPfx } from "./export.js";
import { parsePfx } from "./pfx.js";
import { CertStore } from "./store.js";
import type { CertificateCredential } from "./types.js";

const PASSWORD = "pässwörd-密码";
const hint = "test hint";

describe("exportPfx", () => {
  let dir: string;
  let credential: CertificateCredential;
  let certModulus: string;

  beforeAll(async () => {
    dir = await tempDir();
    const created = await createSelfSignedCertificate({ home: dir, env: {}, dnsName: "pfx.contoso.com" });
    credential = await (await CertStore.open(dir, {})).credential(created.thumbprint);
    await writeFile(join(dir, "cert.pem"), credential.certificatePem);
    certModulus = openssl(["x509", "-in", join(dir, "cert.pem"), "-noout", "-modulus"]);
  });

  async function write(name: string, legacy: boolean) {
    const path = join(dir, name);
    await writeFile(
      path,
      await exportPfx(credential, { password: PASSWORD, legacy, friendlyName: "EXO automation" }),
    );
    return path;
  }

  it("writes AES-256 / SHA-256 PFX that OpenSSL opens with a non-ASCII password", async () => {
    const path = await write("modern.pfx", false);
    const env = { PFX_PW: PASSWORD };
    const info = openssl(["pkcs12", "-info", "-in", path, "-passin", "env:PFX_PW", "-noout"], { env });
    expect(info).toMatch(/MAC: sha256, Iteration 10000/);
    expect(info).toMatch(/Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 10000, PRF hmacWithSHA256/);
    expect(info).toMatch(
      /PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC, Iteration 10000, PRF hmacWithSHA256/,
    );

    const certs = openssl(["pkcs12", "-in", path, "-passin", "env:PFX_PW", "-nokeys"], { env });
    expect(certs).toMatch(/friendlyName: EXO automation/);
    expect(certs).toMatch(/localKeyID: ([0-9A-F]{2} ){19}[0-9A-F]{2}/);
    const x = new X509Certificate(certs.slice(certs.indexOf("-----BEGIN CERTIFICATE-----")));
    expect(x.fingerprint.replace(/:/g, "")).toBe(credential.thumbprint);
    // Windows pairs key and certificate by localKeyID: the SHA-1 thumbprint of the certificate.
    const localKeyId = /localKeyID: ([0-9A-F ]+)/.exec(certs)![1]!.replace(/ /g, "");
    expect(localKeyId).toBe(credential.thumbprint);

    const keys = openssl(["pkcs12", "-in", path, "-passin", "env:PFX_PW", "-nocerts", "-nodes"], { env });
    expect(keys).toMatch(/Microsoft Enhanced RSA and AES Cryptographic Provider/);
    await writeFile(join(dir, "key-from-pfx.pem"), keys.slice(keys.indexOf("-----BEGIN PRIVATE KEY-----")));
    expect(openssl(["rsa", "-in", join(dir, "key-from-pfx.pem"), "-noout", "-modulus"])).toBe(certModulus);

    // Node (OpenSSL's PKCS#12 loader) accepts it too.
    expect(() => createSecureContext({ pfx: readFileSync(path), passphrase: PASSWORD })).not.toThrow();
    expect(opensslResult(["pkcs12", "-in", path, "-passin", "pass:wrong", "-noout"]).ok).toBe(false);
  });

  it("writes legacy 3DES / SHA-1 PFX (Windows Server 2016) that openssl -legacy opens", async () => {
    const path = await write("legacy.pfx", true);
    const env = { PFX_PW: PASSWORD };
    const info = openssl(["pkcs12", "-legacy", "-info", "-in", path, "-passin", "env:PFX_PW", "-noout"], {
      env,
    });
    expect(info).toMatch(/MAC: sha1, Iteration 2000/);
    expect(info).toMatch(/Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 2000/);
    expect(info).toMatch(/PKCS7 Encrypted data: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 2000/);
    const keys = openssl(["pkcs12", "-legacy", "-in", path, "-passin", "env:PFX_PW", "-nocerts", "-nodes"], {
      env,
    });
    await writeFile(join(dir, "key-legacy.pem"), keys.slice(keys.indexOf("-----BEGIN PRIVATE KEY-----")));
    expect(openssl(["rsa", "-in", join(dir, "key-legacy.pem"), "-noout", "-modulus"])).toBe(certModulus);
    const certs = openssl(["pkcs12", "-legacy", "-in", path, "-passin", "env:PFX_PW", "-nokeys"], { env });
    expect(certs).toMatch(/friendlyName: EXO automation/);
  });

  it("refuses an empty password", async () => {
    await expect(exportPfx(credential, { password: "" })).rejects.toBeInstanceOf(UsageError);
  });

  it("reads back its own files, both kinds", async () => {
    for (const [name, legacy] of [
      ["modern.pfx", false],
      ["legacy.pfx", true],
    ] as const) {
      const parsed = parsePfx(await readFile(await write(name, legacy)), {
        password: PASSWORD,
        what: name,
        passwordHint: hint,
      });
      expect(parsed.keys).toHaveLength(1);
      expect(parsed.certificates).toHaveLength(1);
      expect(parsed.keys[0]!.friendlyName).toBe("EXO automation");
      const pem = parsed.keys[0]!.key.export({ type: "pkcs8", format: "pem" });
      expect(pem).toBe(createPrivateKey(credential.privateKeyPem).export({ type: "pkcs8", format: "pem" }));
    }
  });
});

describe("parsePfx on files OpenSSL wrote", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir();
    opensslSelfSigned({
      keyOut: join(dir, "k.pem"),
      certOut: join(dir, "c.pem"),
      subject: "/CN=openssl.contoso.com",
      days: 30,
    });
  });
  const exportWith = (name: string, extra: string[]) => {
    const path = join(dir, name);
    openssl(
      [
        "pkcs12",
        "-export",
        "-in",
        join(dir, "c.pem"),
        "-inkey",
        join(dir, "k.pem"),
        "-out",
        path,
        "-passout",
        "env:PW",
        ...extra,
      ],
      { env: { PW: PASSWORD } },
    );
    return path;
  };

  it("reads the OpenSSL 3 default (AES-256, PBKDF2) and 3DES with a SHA-1 MAC", async () => {
    for (const path of [
      exportWith("default.pfx", ["-name", "from openssl"]),
      exportWith("3des.pfx", ["-certpbe", "PBE-SHA1-3DES", "-keypbe", "PBE-SHA1-3DES", "-macalg", "sha1"]),
    ]) {
      const parsed = parsePfx(await readFile(path), { password: PASSWORD, what: path, passwordHint: hint });
      expect(parsed.keys).toHaveLength(1);
      const cert = new X509Certificate(parsed.certificates[0]!.der);
      expect(cert.subject).toBe("CN=openssl.contoso.com");
      expect(cert.checkPrivateKey(parsed.keys[0]!.key)).toBe(true);
    }
  });

  it("says 'wrong password' for a wrong password", async () => {
    const path = exportWith("pw.pfx", []);
    expect(() =>
      parsePfx(readFileSync(path), { password: "nope", what: "pw.pfx", passwordHint: hint }),
    ).toThrow(/Wrong password for pw\.pfx/);
  });

  it("reads OpenSSL 1.x style files: RC2-40 certificate bag (openssl -legacy)", () => {
    const path = exportWith("rc2.pfx", ["-legacy"]);
    const result = opensslResult(["pkcs12", "-legacy", "-info", "-in", path, "-passin", "env:PW", "-noout"], {
      env: { PW: PASSWORD },
    });
    expect(result.output).toMatch(/PKCS7 Encrypted data: pbeWithSHA1And40BitRC2-CBC/);
    const parsed = parsePfx(readFileSync(path), { password: PASSWORD, what: "rc2.pfx", passwordHint: hint });
    expect(new X509Certificate(parsed.certificates[0]!.der).subject).toBe("CN=openssl.contoso.com");
    expect(parsed.keys).toHaveLength(1);
  });

  it("refuses a truncated file as not a PFX", async () => {
    const bytes = await readFile(exportWith("t.pfx", []));
    expect(() =>
      parsePfx(bytes.subarray(0, bytes.length / 2), {
        password: PASSWORD,
        what: "t.pfx",
        passwordHint: hint,
      }),
    ).toThrow(/not a readable PFX/);
  });
});
