import { X509Certificate } from "node:crypto";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadOrCreateTls, tlsFiles } from "../src/tls.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "exo-cba-tls-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("emulator PKI", () => {
  it("persists the CA and server certificate with owner-only keys and reuses them", async () => {
    const first = await loadOrCreateTls({ stateDir: dir, host: "127.0.0.1" });
    const files = tlsFiles(dir);
    expect((await stat(files.caKey)).mode & 0o777).toBe(0o600);
    expect((await stat(files.serverKey)).mode & 0o777).toBe(0o600);
    expect(first.caFile).toBe(files.caCert);
    const ca = new X509Certificate(first.caPem);
    const server = new X509Certificate(first.certPem);
    expect(ca.ca).toBe(true);
    expect(server.ca).toBe(false);
    expect(server.checkIssued(ca) && server.verify(ca.publicKey)).toBe(true);
    expect(server.subjectAltName).toContain("IP Address:127.0.0.1");
    expect(server.subjectAltName).toContain("DNS:localhost");
    expect(server.checkPrivateKey((await import("node:crypto")).createPrivateKey(first.keyPem))).toBe(true);

    const second = await loadOrCreateTls({ stateDir: dir, host: "127.0.0.1" });
    expect(second.caPem).toBe(first.caPem);
    expect(second.certPem).toBe(first.certPem);
  });

  it("issues a new server certificate from the same CA when the host is not covered", async () => {
    const before = await loadOrCreateTls({ stateDir: dir, host: "127.0.0.1" });
    const other = await loadOrCreateTls({ stateDir: dir, host: "emulator.test" });
    expect(other.caPem).toBe(before.caPem);
    expect(other.certPem).not.toBe(before.certPem);
    const server = new X509Certificate(other.certPem);
    expect(server.subjectAltName).toContain("DNS:emulator.test");
    expect(server.checkIssued(new X509Certificate(other.caPem))).toBe(true);
  });

  it("without a state dir, writes the CA to a temporary file that dispose() removes", async () => {
    const tls = await loadOrCreateTls({ host: "127.0.0.1" });
    expect((await stat(tls.caFile)).isFile()).toBe(true);
    await tls.dispose();
    await expect(stat(tls.caFile)).rejects.toThrow(/ENOENT/);
  });
});
