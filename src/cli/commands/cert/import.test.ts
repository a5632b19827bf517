import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  openssl,
  opensslSelfSigned,
  runCli,
  snapshot,
  tempDir,
} from "../../../../test/helpers/cert-fixtures.js";
import { buildSelfSignedCertificate } from "../../../cert/build.js";
import { generateRsaKeyPair } from "../../../cert/keys.js";
import { toPem } from "../../../cert/pem.js";

const PW = "imp0rt-密码";

describe("exo-cba cert csr + cert import", () => {
  let work: string;
  let home: string;

  beforeAll(async () => {
    work = await tempDir();
    home = join(work, "home");
    opensslSelfSigned({
      keyOut: join(work, "ca.key"),
      certOut: join(work, "ca.pem"),
      subject: "/CN=Throwaway CA",
      days: 30,
    });
  });

  it("makes a request, and imports the certificate the CA issued for it", async () => {
    const csr = join(work, "req.csr");
    const made = await runCli(
      [
        "cert",
        "csr",
        "--dns-name",
        "exo.contoso.com",
        "--subject",
        "CN=exo, O=Contoso",
        "--out",
        csr,
        "-o",
        "json",
      ],
      { EXO_CBA_HOME: home },
    );
    expect(made.code).toBe(0);
    expect(JSON.parse(made.stdout)).toMatchObject({
      subject: "CN=exo, O=Contoso",
      dnsName: "exo.contoso.com",
      out: csr,
    });
    expect(made.stderr).toMatch(/cert import/);
    expect(openssl(["req", "-in", csr, "-noout", "-verify"])).toMatch(/verify OK/);

    const issued = join(work, "issued.pem");
    openssl([
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      join(work, "ca.pem"),
      "-CAkey",
      join(work, "ca.key"),
      "-CAcreateserial",
      "-days",
      "20",
      "-copy_extensions",
      "copy",
      "-out",
      issued,
    ]);
    const imported = await runCli(["cert", "import", issued, "-o", "json"], { EXO_CBA_HOME: home });
    expect(imported.code).toBe(0);
    const info = JSON.parse(imported.stdout) as Record<string, unknown>;
    expect(info).toMatchObject({
      subject: "CN=exo, O=Contoso",
      issuer: "CN=Throwaway CA",
      origin: "ca",
      hasKey: true,
    });
    expect(info.key).toBe("waiting-in-store");

    const shown = await runCli(["cert", "show", String(info.thumbprint).toLowerCase(), "-o", "json"], {
      EXO_CBA_HOME: home,
    });
    expect(JSON.parse(shown.stdout)).toMatchObject({
      thumbprint: info.thumbprint,
      dnsNames: ["exo.contoso.com"],
    });
  });

  it("refuses a certificate whose key is not in the store, with exit 2 and nothing written", async () => {
    const before = await snapshot(home);
    const r = await runCli(["cert", "import", join(work, "ca.pem")], { EXO_CBA_HOME: home });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/error: The private key of the certificate .* is not in the local store/);
    expect(r.stderr).toMatch(/hint: /);
    expect(await snapshot(home)).toEqual(before);
  });

  it("imports a PFX with the password from the environment or a file; refuses a wrong one", async () => {
    const pfx = join(work, "ca.pfx");
    openssl(
      [
        "pkcs12",
        "-export",
        "-in",
        join(work, "ca.pem"),
        "-inkey",
        join(work, "ca.key"),
        "-out",
        pfx,
        "-passout",
        "env:PW",
      ],
      { env: { PW } },
    );
    const fresh = join(work, "home-pfx");
    const wrong = await runCli(["cert", "import", pfx], {
      EXO_CBA_HOME: fresh,
      EXO_CERTIFICATE_PASSWORD: "nope",
    });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/Wrong password/);
    expect(wrong.stderr).toMatch(/EXO_CERTIFICATE_PASSWORD or pass --password-file/);
    expect(await snapshot(fresh)).toEqual({});

    const ok = await runCli(["cert", "import", pfx, "-o", "json"], {
      EXO_CBA_HOME: fresh,
      EXO_CERTIFICATE_PASSWORD: PW,
    });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ origin: "imported", hasKey: true, key: "from-file" });

    const pwFile = join(work, "pw.txt");
    await writeFile(pwFile, `${PW}\r\n`);
    const other = join(work, "home-pfx2");
    const viaFile = await runCli(["cert", "import", pfx, "--password-file", pwFile], { EXO_CBA_HOME: other });
    expect(viaFile.code).toBe(0);
    expect(viaFile.stderr).toMatch(/imported/);
  });

  it("refuses an expired certificate (exit 2, hint --force), and imports it with --force and a warning", async () => {
    const keys = await generateRsaKeyPair(2048);
    const der = await buildSelfSignedCertificate({
      dnsName: "old.contoso.com",
      keys: keys.cryptoKeys,
      notBefore: new Date("2020-01-01T00:00:00Z"),
      notAfter: new Date("2021-01-01T00:00:00Z"),
    });
    const bundle = join(work, "expired.pem");
    await writeFile(
      bundle,
      toPem("CERTIFICATE", der) + keys.privateKey.export({ type: "pkcs8", format: "pem" }),
    );
    const fresh = join(work, "home-expired");
    const refused = await runCli(["cert", "import", bundle], { EXO_CBA_HOME: fresh });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/expired on 2021-01-01T00:00:00\.000Z/);
    expect(refused.stderr).toMatch(/hint: .*--force/);
    expect(await snapshot(fresh)).toEqual({});
    const forced = await runCli(["cert", "import", bundle, "--force", "-o", "json"], { EXO_CBA_HOME: fresh });
    expect(forced.code).toBe(0);
    expect(forced.stderr).toMatch(/^warning: .*expired/m);
    expect((JSON.parse(forced.stdout) as { daysLeft: number }).daysLeft).toBeLessThan(0);
  });

  it("refuses a corrupt file with exit 2", async () => {
    const bad = join(work, "bad.cer");
    await writeFile(bad, Buffer.from([0x30, 0x82, 0x01, 0x00, 0x02]));
    const r = await runCli(["cert", "import", bad], { EXO_CBA_HOME: home });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad\.cer/);
  });
});
