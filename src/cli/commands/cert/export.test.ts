import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { modeOf, openssl, runCli, snapshot, tempDir } from "../../../../test/helpers/cert-fixtures.js";

const PASSWORD = "pässwörd-密码";

describe("exo-cba cert export", () => {
  let home: string;
  let out: string;
  let thumbprint: string;
  let certModulus: string;

  beforeAll(async () => {
    home = await tempDir();
    out = join(home, "out");
    await mkdir(out);
    const r = await runCli(
      [
        "cert",
        "new",
        "--dns-name",
        "export.contoso.com",
        "--friendly-name",
        "EXO export",
        "--cer-path",
        join(out, "new.cer"),
        "-o",
        "json",
      ],
      { EXO_CBA_HOME: home },
    );
    expect(r.code).toBe(0);
    thumbprint = (JSON.parse(r.stdout) as { thumbprint: string }).thumbprint;
    certModulus = openssl(["x509", "-inform", "DER", "-in", join(out, "new.cer"), "-noout", "-modulus"]);
  });

  it("writes a PFX with the password from EXO_CERTIFICATE_PASSWORD, owner-only, that openssl opens", async () => {
    const pfx = join(out, "a.pfx");
    const colons = thumbprint.toLowerCase().match(/../g)!.join(":");
    const r = await runCli(["cert", "export", colons, "--pfx", pfx, "-o", "json"], {
      EXO_CBA_HOME: home,
      EXO_CERTIFICATE_PASSWORD: PASSWORD,
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ thumbprint, format: "pfx", encryption: "AES-256/SHA-256" });
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
    expect(await modeOf(pfx)).toBe(0o600);
    const keys = openssl(["pkcs12", "-in", pfx, "-passin", "env:PW", "-nocerts", "-nodes"], {
      env: { PW: PASSWORD },
    });
    expect(keys).toMatch(/friendlyName: EXO export/);
    await writeFile(join(out, "a.key"), keys.slice(keys.indexOf("-----BEGIN PRIVATE KEY-----")));
    expect(openssl(["rsa", "-in", join(out, "a.key"), "-noout", "-modulus"])).toBe(certModulus);
  });

  it("writes a legacy PFX with the password from --password-file", async () => {
    const pfx = join(out, "legacy.pfx");
    const pwFile = join(out, "pw.txt");
    await writeFile(pwFile, `${PASSWORD}\n`);
    const r = await runCli(
      ["cert", "export", thumbprint, "--pfx", pfx, "--legacy", "--password-file", pwFile],
      {
        EXO_CBA_HOME: home,
      },
    );
    expect(r.code).toBe(0);
    const info = openssl(["pkcs12", "-legacy", "-info", "-in", pfx, "-passin", "env:PW", "-noout"], {
      env: { PW: PASSWORD },
    });
    expect(info).toMatch(/MAC: sha1/);
    expect(info).toMatch(/pbeWithSHA1And3-KeyTripleDES-CBC/);
  });

  it("writes the public .cer and an owner-only PEM with certificate and key", async () => {
    const cer = join(out, "b.cer");
    const pem = join(out, "b.pem");
    expect((await runCli(["cert", "export", thumbprint, "--cer", cer], { EXO_CBA_HOME: home })).code).toBe(0);
    expect(await readFile(cer)).toEqual(await readFile(join(out, "new.cer")));
    expect((await runCli(["cert", "export", thumbprint, "--pem", pem], { EXO_CBA_HOME: home })).code).toBe(0);
    expect(await modeOf(pem)).toBe(0o600);
    expect(openssl(["rsa", "-in", pem, "-noout", "-modulus"])).toBe(certModulus);
    expect(openssl(["x509", "-in", pem, "-noout", "-modulus"])).toBe(certModulus);
  });

  it.each([
    ["a PFX without any password", ["--pfx", "x.pfx"], /needs a password/],
    ["two targets", ["--pfx", "x.pfx", "--cer", "x.cer"], /exactly one of/],
    ["no target", [], /exactly one of/],
    ["--legacy without --pfx", ["--cer", "x.cer", "--legacy"], /--legacy applies to --pfx only/],
    ["a password as a flag value", ["--pfx", "x.pfx", "--password", "secret"], /unknown option '--password'/],
  ])("refuses %s with exit 2 and writes nothing", async (_label, args, message) => {
    const before = await snapshot(home);
    const r = await runCli(
      ["cert", "export", thumbprint, ...args.map((a) => (/^x\./.test(a) ? join(out, a) : a))],
      {
        EXO_CBA_HOME: home,
      },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(await snapshot(home)).toEqual(before);
  });

  it("refuses an unknown thumbprint with exit 2", async () => {
    const r = await runCli(["cert", "export", "AB".repeat(20), "--cer", join(out, "z.cer")], {
      EXO_CBA_HOME: home,
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/No certificate with thumbprint/);
    expect(r.stderr).toMatch(/hint: .*cert list/);
  });
});
