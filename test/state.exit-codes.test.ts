import { mkdtemp, readdir, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RunningEmulator } from "@exo-cba/emulator";
import { startEmulator } from "@exo-cba/emulator";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertStore } from "../src/cert/store.js";
import { homePaths } from "../src/config/home.js";
import { HttpTransport } from "../src/http/transport.js";
import { runCli } from "./helpers/cli.js";
import { createAppCertificate } from "./helpers/invoke-wire.js";
import { provisionApp, ROLE } from "./helpers/provision.js";

/**
 * Issue 14 item 7: failures of the world are never "internal error" (exit 1). Each case here reproduces
 * one with the CLI as a user runs it and checks its documented exit code and message.
 */
let emu: RunningEmulator;
let reportEnv: NodeJS.ProcessEnv;

beforeAll(async () => {
  emu = await startEmulator({ mailboxes: 3 });
  const transport = new HttpTransport({ caPem: [emu.caPem] });
  const cert = await createAppCertificate("CN=exo-cba-exit-codes");
  const { appId } = await provisionApp(emu, transport, {
    certificatePem: cert.certificatePem,
    role: ROLE.globalReader,
  });
  transport.close();
  const dir = await mkdtemp(join(tmpdir(), "exo-exit-"));
  const pem = join(dir, "app.pem");
  await writeFile(pem, `${cert.certificatePem}${cert.privateKeyPem}`, { mode: 0o600 });
  reportEnv = { ...emu.env, EXO_APP_ID: appId, EXO_CERTIFICATE_FILE_PATH: pem };
});
afterAll(async () => {
  await emu?.close();
});

const home = () => mkdtemp(join(tmpdir(), "exo-exit-home-"));

describe("exit codes of outside failures", () => {
  it("a host name that does not resolve: exit 6 naming the host, not an internal error", async () => {
    const r = await runCli(
      ["setup", "--organization", "contoso.onmicrosoft.com", "--role", "global-reader", "--yes"],
      {
        EXO_CBA_HOME: await home(),
        EXO_AUTHORITY_HOST: "https://exo-cba-test.invalid",
        EXO_GRAPH_ENDPOINT: "https://exo-cba-test.invalid",
        EXO_EXCHANGE_ENDPOINT: "https://exo-cba-test.invalid",
        EXO_ADMIN_ACCESS_TOKEN: "a.b.c",
      },
    );
    expect(r.code, r.stderr).toBe(6);
    expect(r.stderr).toMatch(
      /^error: Cannot resolve the host name exo-cba-test\.invalid \(DNS: (ENOTFOUND|EAI_\w+)\)\./m,
    );
    expect(r.stderr).toMatch(/^hint: Check the network and DNS/m);
    expect(r.stderr).not.toContain("internal error");
  });

  it("a server certificate this machine does not trust: exit 2 with the NODE_EXTRA_CA_CERTS hint", async () => {
    const before = emu.stats().graphRequests;
    const r = await runCli(
      ["setup", "--organization", emu.tenant.domain, "--role", "global-reader", "--yes"],
      {
        ...emu.env,
        NODE_EXTRA_CA_CERTS: "",
        EXO_CBA_HOME: await home(),
        EXO_ADMIN_ACCESS_TOKEN: emu.issueAdminToken(),
      },
    );
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^error: The server's TLS certificate is not trusted: .+ \([A-Z_]+\)\./m);
    expect(r.stderr).toMatch(/^hint: TLS is always verified\. .*NODE_EXTRA_CA_CERTS/m);
    expect(emu.stats().graphRequests).toBe(before);
  });

  it("a damaged history database: exit 2 saying so, before any Exchange request", async () => {
    const h = await home();
    await writeFile(
      homePaths(h).history,
      "this is not a SQLite database, just text long enough to be read".repeat(20),
    );
    const before = emu.stats().exchangeRequests;
    const r = await runCli(["report", "usage", "--format", "json", "--out", join(h, "out")], {
      ...reportEnv,
      EXO_CBA_HOME: h,
    });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^error: The report history database is damaged: .*\(SQLITE_NOTADB\)\./m);
    expect(r.stderr).toMatch(/^hint: Move history\.sqlite/m);
    expect(emu.stats().exchangeRequests).toBe(before);
  });

  it("a history database another process keeps locked: exit 6 after the busy timeout", async () => {
    const h = await home();
    // A first report creates the database; then another process holds its write lock.
    const first = await runCli(["report", "usage", "--format", "json", "--out", join(h, "out")], {
      ...reportEnv,
      EXO_CBA_HOME: h,
    });
    expect(first.code, first.stderr).toBe(0);
    const holder = new Database(homePaths(h).history);
    holder.pragma("busy_timeout = 0");
    holder.exec("BEGIN EXCLUSIVE");
    try {
      const r = await runCli(["report", "usage", "--format", "json", "--out", join(h, "out2")], {
        ...reportEnv,
        EXO_CBA_HOME: h,
      });
      expect(r.code, r.stderr).toBe(6);
      expect(r.stderr).toMatch(/The report history database is locked by another process \(SQLITE_BUSY\w*\)/);
      expect(r.stderr).not.toContain("internal error");
    } finally {
      holder.exec("ROLLBACK");
      holder.close();
    }
  });

  it("history.sqlite is created owner-only (0600): it holds UPNs and display names", async () => {
    const h = await home();
    const r = await runCli(["report", "usage", "--format", "json", "--out", join(h, "out")], {
      ...reportEnv,
      EXO_CBA_HOME: h,
    });
    expect(r.code, r.stderr).toBe(0);
    expect((await stat(homePaths(h).history)).mode & 0o777).toBe(0o600);
  });

  it("an unwritable --cer-path: exit 2 and nothing stored, so the re-run makes exactly one certificate", async () => {
    const h = await home();
    const env = { EXO_CBA_HOME: h };
    const missingFolder = await runCli(
      ["cert", "new", "--dns-name", "a.contoso.com", "--cer-path", join(h, "no-such-folder", "a.cer")],
      env,
    );
    expect(missingFolder.code, missingFolder.stderr).toBe(2);
    expect(missingFolder.stderr).toMatch(
      /^error: Cannot write the certificate file \(--cer-path\) .*a\.cer: its folder does not exist \(ENOENT\)\./m,
    );
    expect(missingFolder.stderr).toMatch(/Nothing was stored/);
    await writeFile(join(h, "a-file"), "x");
    const fileInTheWay = await runCli(
      ["cert", "new", "--dns-name", "a.contoso.com", "--cer-path", join(h, "a-file", "a.cer")],
      env,
    );
    expect(fileInTheWay.code, fileInTheWay.stderr).toBe(2);
    expect(fileInTheWay.stderr).toMatch(/a part of its folder path is a file \(ENOTDIR\)/);
    expect(await (await CertStore.open(h, env)).list()).toEqual([]);
    expect(await readdir(join(h))).not.toContain("no-such-folder");

    const rerun = await runCli(
      ["cert", "new", "--dns-name", "a.contoso.com", "--cer-path", join(h, "a.cer")],
      env,
    );
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(await (await CertStore.open(h, env)).list()).toHaveLength(1);
  });
});
