import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeKeyedCertificate } from "../../test/helpers/ops-certs.js";
import { CertStore } from "../cert/index.js";
import type { KeyedCertificate } from "../lifecycle/app-keys.js";
import { inspectLocalCertificate } from "./wiring.js";

let home: string;
let a: KeyedCertificate;
let b: KeyedCertificate;
let keyFileA: string;
beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), "exo-inspect-"));
  a = await makeKeyedCertificate(home, "a.contoso.com");
  b = await makeKeyedCertificate(home, "b.contoso.com");
  const info = await (await CertStore.open(home, {})).get(a.thumbprint);
  keyFileA = join(home, "certificates", "keys", `${info.keyId}.pem`);
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

const posix = process.platform !== "win32";

describe("inspectLocalCertificate — store", () => {
  it("a healthy store certificate: found, key matches, 0600, usable credential", async () => {
    const facts = await inspectLocalCertificate({ kind: "thumbprint", thumbprint: a.thumbprint }, home, {});
    expect(facts).toMatchObject({
      found: true,
      hasKey: true,
      keyMatches: true,
      thumbprint: a.thumbprint,
      keyFile: keyFileA,
    });
    if (posix) expect(facts.keyFileMode).toBe(0o600);
    expect(facts.credential?.privateKeyPem).toBe(a.privateKeyPem);
  });

  it("a thumbprint the store does not have", async () => {
    const facts = await inspectLocalCertificate({ kind: "thumbprint", thumbprint: "E".repeat(40) }, home, {});
    expect(facts.found).toBe(false);
    expect(facts.problem).toContain("not in the local store");
  });

  it.skipIf(!posix)(
    "a key file readable by others: mode reported, no credential, the store's refusal as the problem",
    async () => {
      chmodSync(keyFileA, 0o644);
      try {
        const facts = await inspectLocalCertificate(
          { kind: "thumbprint", thumbprint: a.thumbprint },
          home,
          {},
        );
        expect(facts.keyFileMode).toBe(0o644);
        expect(facts.credential).toBeUndefined();
        expect(facts.problem).toContain("readable by other users");
      } finally {
        chmodSync(keyFileA, 0o600);
      }
    },
  );
});

describe("inspectLocalCertificate — file", () => {
  it("a PEM file with the certificate and its key", async () => {
    const file = join(home, "good.pem");
    writeFileSync(file, `${a.certificatePem}\n${a.privateKeyPem}`, { mode: 0o600 });
    const facts = await inspectLocalCertificate({ kind: "file", path: file }, home, {});
    expect(facts).toMatchObject({ found: true, keyMatches: true, thumbprint: a.thumbprint, keyFile: file });
    if (posix) expect(facts.keyFileMode).toBe(0o600);
  });

  it("a PEM file whose key belongs to another certificate", async () => {
    const file = join(home, "mixed.pem");
    writeFileSync(file, `${a.certificatePem}\n${b.privateKeyPem}`, { mode: 0o640 });
    const facts = await inspectLocalCertificate({ kind: "file", path: file }, home, {});
    expect(facts).toMatchObject({ found: true, hasKey: true, keyMatches: false });
    expect(facts.credential).toBeUndefined();
    if (posix) expect(facts.keyFileMode).toBe(0o640);
  });

  it("a file that does not exist", async () => {
    const facts = await inspectLocalCertificate({ kind: "file", path: join(home, "nope.pfx") }, home, {});
    expect(facts.found).toBe(false);
    expect(facts.problem).toBeTruthy();
  });
});

describe("rotationDeps — self mode with an expired certificate", () => {
  it("refuses early with the admin way out, instead of a bare 401 from addKey", async () => {
    const { rotationDeps } = await import("./wiring.js");
    const { resolveEndpoints } = await import("../cloud/environments.js");
    const { HttpTransport } = await import("../http/transport.js");
    const transport = new HttpTransport();
    try {
      const resolved = {
        appId: "11111111-2222-3333-4444-555555555555",
        organization: "contoso.onmicrosoft.com",
        certificate: { kind: "thumbprint" as const, thumbprint: a.thumbprint },
        endpoints: resolveEndpoints(undefined, {}),
        home,
        profile: {
          name: "p",
          organization: "contoso.onmicrosoft.com",
          appId: "11111111-2222-3333-4444-555555555555",
          appObjectId: "obj",
          certificateThumbprint: a.thumbprint,
          environment: "O365Default",
        },
      };
      const later = () => new Date(a.notAfter.getTime() + 86_400_000);
      await expect(rotationDeps(resolved, { env: {}, transport, self: true, now: later })).rejects.toThrow(
        /expired on .* can no longer rotate itself/,
      );
    } finally {
      transport.close();
    }
  });
});
