import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openssl, runCli, snapshot, tempDir } from "../../../../test/helpers/cert-fixtures.js";

describe("exo-cba cert new", () => {
  it("creates, stores and writes the .cer, printing both thumbprints", async () => {
    const home = await tempDir();
    const cer = join(home, "exo.cer");
    const r = await runCli(
      [
        "cert",
        "new",
        "--dns-name",
        "contoso.onmicrosoft.com",
        "--friendly-name",
        "EXO",
        "--cer-path",
        cer,
        "--output",
        "json",
      ],
      { EXO_CBA_HOME: home },
    );
    expect(r.stderr).toMatch(/Upload .*exo\.cer/);
    expect(r.code).toBe(0);
    const printed = JSON.parse(r.stdout) as Record<string, unknown>;
    const fingerprint = openssl(["x509", "-inform", "DER", "-in", cer, "-noout", "-fingerprint", "-sha1"]);
    expect(printed.thumbprint).toBe(fingerprint.split("=")[1]!.trim().replace(/:/g, ""));
    expect(printed.thumbprintSha256).toMatch(/^[0-9A-F]{64}$/);
    expect(printed).toMatchObject({
      subject: "CN=contoso.onmicrosoft.com",
      dnsNames: ["contoso.onmicrosoft.com"],
      friendlyName: "EXO",
      keySize: 2048,
      origin: "self-signed",
      cerPath: cer,
    });
    const list = await runCli(["cert", "list", "--output", "csv"], { EXO_CBA_HOME: home });
    expect(list.code).toBe(0);
    expect(list.stdout.split("\r\n")[0]).toBe(
      "thumbprint,subject,friendlyName,notBefore,notAfter,daysLeft,hasKey,origin",
    );
    expect(list.stdout).toContain(`${printed.thumbprint},CN=contoso.onmicrosoft.com,EXO,`);
  });

  it.each([
    ["a small key", ["--key-size", "1024"], /1024 is not allowed/],
    ["a bad DNS name", ["--dns-name", "not a name"], /is not a DNS name/],
    ["a bad date", ["--not-after", "someday"], /not a date/],
    ["--years and --not-after", ["--years", "2", "--not-after", "2030-01-01"], /not both/],
  ])("refuses %s with exit 2 and writes nothing", async (_label, extra, message) => {
    const home = await tempDir();
    const before = await snapshot(home);
    const args = ["cert", "new", "--dns-name", "ok.contoso.com", "--cer-path", join(home, "x.cer"), ...extra];
    const r = await runCli(args, { EXO_CBA_HOME: home });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(await snapshot(home)).toEqual(before);
  });

  it("has help with examples on every subcommand", async () => {
    for (const sub of ["new", "csr", "import", "list", "show", "export", "remove"]) {
      const r = await runCli(["cert", sub, "--help"], {});
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`Examples:\\n {2}\\$ .*exo-cba cert ${sub}\\b`));
      expect(r.stdout).toMatch(/--output <format>/);
    }
  });
});
