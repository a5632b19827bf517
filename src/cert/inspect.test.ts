import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { openssl, opensslSelfSigned, tempDir } from "../../test/helpers/cert-fixtures.js";
import { UsageError } from "../errors.js";
import { certificateDerBase64, inspectCertificatePem, parseCertificate } from "./inspect.js";

describe("inspectCertificatePem", () => {
  let pem: string;
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir();
    opensslSelfSigned({
      keyOut: join(dir, "k.pem"),
      certOut: join(dir, "c.pem"),
      subject: "/C=US/O=Contoso, Inc./CN=exo",
      days: 3,
      extra: ["-set_serial", "0x0A1B2C", "-addext", "subjectAltName=DNS:a.example,IP:1.2.3.4,DNS:b.example"],
    });
    pem = await readFile(join(dir, "c.pem"), "utf8");
  });

  it("reads names, SAN DNS entries, serial, key and validity as openssl reports them", () => {
    const info = inspectCertificatePem(pem);
    expect(info.subject).toBe("C=US, O=Contoso\\, Inc., CN=exo");
    expect(info.issuer).toBe(info.subject);
    expect(info.selfSigned).toBe(true);
    expect(info.dnsNames).toEqual(["a.example", "b.example"]);
    expect(info.serialNumber).toBe("0A1B2C");
    expect(info).toMatchObject({ keyAlgorithm: "RSA", keySize: 2048, daysLeft: 2 });
    const dates = openssl(["x509", "-in", join(dir, "c.pem"), "-noout", "-startdate", "-enddate"]);
    expect(new Date(/notAfter=(.*)/.exec(dates)![1]!).toISOString()).toBe(info.notAfter.toISOString());
    expect(new Date(/notBefore=(.*)/.exec(dates)![1]!).toISOString()).toBe(info.notBefore.toISOString());
  });

  it("gives Graph the DER as standard base64", () => {
    openssl(["x509", "-in", join(dir, "c.pem"), "-outform", "DER", "-out", join(dir, "der.cer")]);
    const base64 = certificateDerBase64(pem);
    expect(base64).toMatch(/^[A-Za-z0-9+/]+=*$/);
    const viaOpenssl = openssl(["base64", "-A", "-in", join(dir, "der.cer")], {}).trim();
    expect(base64).toBe(viaOpenssl);
  });

  it("refuses what is not a certificate", () => {
    expect(() => parseCertificate(Buffer.from("hello"))).toThrow(UsageError);
    expect(() =>
      inspectCertificatePem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
    ).toThrow(/no CERTIFICATE block/);
  });
});
