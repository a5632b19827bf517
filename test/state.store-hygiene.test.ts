import { chmod, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { buildSelfSignedCertificate } from "../src/cert/build.js";
import { generateRsaKeyPair, keyIdOf } from "../src/cert/keys.js";
import { toPem } from "../src/cert/pem.js";
import { CertStore } from "../src/cert/store.js";
import type { CliContext } from "../src/cli/context.js";
import { reportError } from "../src/cli/main.js";
import { formatTable } from "../src/cli/render.js";
import { saveProfile } from "../src/config/profiles.js";
import { AuthenticationError, ServerError } from "../src/errors.js";
import { runCli } from "./helpers/cli.js";

/** Issue 14 item 10: store integrity and hygiene, each case reproduced with its exit code and message. */
const home = () => mkdtemp(join(tmpdir(), "exo-hygiene-"));

async function newCert(h: string, env: NodeJS.ProcessEnv = {}) {
  const r = await runCli(
    ["cert", "new", "--dns-name", "app.contoso.com", "--cer-path", join(h, "app.cer"), "-o", "json"],
    { EXO_CBA_HOME: h, ...env },
  );
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { thumbprint: string }).thumbprint;
}

describe("a key planted at its predictable file name", () => {
  it("is detected when a stored certificate is used: exit 2, not success", async () => {
    const h = await home();
    const thumbprint = await newCert(h);
    const info = await (await CertStore.open(h, {})).get(thumbprint);
    const intruder = await generateRsaKeyPair(2048);
    const keyFile = join(h, "certificates", "keys", `${info.keyId}.pem`);
    await writeFile(keyFile, intruder.privateKey.export({ type: "pkcs8", format: "pem" }) as string, {
      mode: 0o600,
    });
    const r = await runCli(["cert", "export", thumbprint, "--pem", join(h, "out.pem")], { EXO_CBA_HOME: h });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(
      `error: The private key stored for certificate ${thumbprint} (${keyFile}) does not belong to it.`,
    );
    expect(await readdir(h)).not.toContain("out.pem");
  });

  it("is detected by `cert import` of the certificate with its own key: exit 2, nothing recorded", async () => {
    const h = await home();
    const keys = await generateRsaKeyPair(2048);
    const der = await buildSelfSignedCertificate({
      dnsName: "victim.contoso.com",
      keys: keys.cryptoKeys,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 300 * 86_400_000),
    });
    const bundle = join(h, "victim.pem");
    await writeFile(
      bundle,
      toPem("CERTIFICATE", der) + keys.privateKey.export({ type: "pkcs8", format: "pem" }),
    );
    // The attacker knows the public key, so the file name; the content is their own key.
    const intruder = await generateRsaKeyPair(2048);
    await (await CertStore.open(h, {})).saveKey(intruder.privateKey); // makes the store folders
    await writeFile(
      join(h, "certificates", "keys", `${keyIdOf(keys.privateKey)}.pem`),
      intruder.privateKey.export({ type: "pkcs8", format: "pem" }) as string,
      { mode: 0o600 },
    );
    const r = await runCli(["cert", "import", bundle], { EXO_CBA_HOME: h });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(
      /^error: The private key stored for certificate [0-9A-F]{40} .* does not belong to it\./m,
    );
    expect(await (await CertStore.open(h, {})).list()).toEqual([]);
  });
});

describe("folders other users can write to", () => {
  it("are refused when a key is used (exit 2 naming the folder), and doctor fails them", async () => {
    const h = await home();
    const thumbprint = await newCert(h);
    await chmod(h, 0o777);
    const r = await runCli(["cert", "export", thumbprint, "--pem", join(h, "x.pem")], { EXO_CBA_HOME: h });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(
      `error: The folder ${h} is writable by other users (mode 0777); refusing to use its keys.`,
    );
    expect(r.stderr).toContain(`hint: Run \`chmod 700 ${h}\``);

    await saveProfile(h, {
      name: "p",
      organization: "contoso.onmicrosoft.com",
      appId: "11111111-2222-3333-4444-555555555555",
      certificateThumbprint: thumbprint,
      environment: "O365Default",
      endpoints: {
        authorityHost: "https://127.0.0.1:9",
        graphEndpoint: "https://127.0.0.1:9",
        exchangeEndpoint: "https://127.0.0.1:9",
      },
    });
    await chmod(h, 0o777); // saveProfile made it private again
    const doctor = await runCli(["doctor", "--profile", "p", "-o", "json"], { EXO_CBA_HOME: h });
    expect(doctor.code, doctor.stderr).toBe(8);
    const rows = JSON.parse(doctor.stdout) as Array<{ check: string; status: string; detail: string }>;
    const key = rows.find((row) => row.check === "private key");
    expect(key?.status).toBe("fail");
    expect(key?.detail).toContain("is writable by other users");
  });
});

describe("EXO_CERT_STORE_PASSPHRASE", () => {
  it("set but empty is refused (exit 2) instead of meaning 'no encryption'; nothing is stored", async () => {
    const h = await home();
    const r = await runCli(["cert", "new", "--dns-name", "app.contoso.com", "--cer-path", join(h, "a.cer")], {
      EXO_CBA_HOME: h,
      EXO_CERT_STORE_PASSPHRASE: "",
    });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain("error: EXO_CERT_STORE_PASSPHRASE is set but empty.");
    expect(await (await CertStore.open(h, {})).list()).toEqual([]);
    expect(await readdir(h)).not.toContain("a.cer");
  });
});

describe("cert export", () => {
  it("refuses to overwrite an existing file without --force, and makes no missing folders", async () => {
    const h = await home();
    const thumbprint = await newCert(h);
    const target = join(h, "exists.cer");
    await writeFile(target, "keep me");
    const refused = await runCli(["cert", "export", thumbprint, "--cer", target], { EXO_CBA_HOME: h });
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toContain(`error: ${target} already exists; not overwriting it.`);
    expect(refused.stderr).toContain("--force");
    expect(await readFile(target, "utf8")).toBe("keep me");
    const forced = await runCli(["cert", "export", thumbprint, "--cer", target, "--force"], {
      EXO_CBA_HOME: h,
    });
    expect(forced.code, forced.stderr).toBe(0);
    expect((await readFile(target)).subarray(0, 1)[0]).toBe(0x30); // DER SEQUENCE

    const missing = await runCli(["cert", "export", thumbprint, "--cer", join(h, "no-such", "x.cer")], {
      EXO_CBA_HOME: h,
    });
    expect(missing.code, missing.stderr).toBe(2);
    expect(missing.stderr).toMatch(/its folder does not exist \(ENOENT\)/);
    expect(missing.stderr).toMatch(/^hint: .*does not create folders/m);
    expect(await readdir(h)).not.toContain("no-such");
  });
});

describe("server text on the terminal", () => {
  function ctxFor(debug: boolean) {
    const stderr = new PassThrough();
    let err = "";
    stderr.on("data", (c: Buffer) => {
      err += c.toString("utf8");
    });
    const ctx = {
      stdout: new PassThrough(),
      stderr,
      env: {},
      interactive: false,
      debug,
      yes: false,
    } as CliContext;
    return { ctx, err: () => err };
  }

  it("--debug output redacts a client assertion and a token the server echoed", () => {
    const assertion = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4In0.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
    const error = new AuthenticationError(
      `AADSTS700027: invalid assertion: client_assertion=${assertion}&client_assertion_type=jwt-bearer`,
    );
    const c = ctxFor(true);
    reportError(error, c.ctx);
    expect(c.err()).toContain("AADSTS700027");
    expect(c.err()).toContain("at "); // the stack is shown with --debug
    expect(c.err()).not.toContain(assertion);
    expect(c.err()).not.toMatch(/eyJ[\w-]+\.eyJ/);
  });

  it("control characters from server data are escaped in error and table output", () => {
    const c = ctxFor(false);
    reportError(
      new ServerError("Mailbox 'x\u001b]0;owned\u0007\u001b[2J' not found\r\nhint: run rm -rf ~"),
      c.ctx,
    );
    expect(c.err()).not.toMatch(/[\u001b\u0007\r]/);
    expect(c.err()).toContain("x\\x1b]0;owned\\x07\\x1b[2J");
    expect(
      c
        .err()
        .split("\n")
        .filter((l) => l.startsWith("hint:")),
    ).toEqual([]);
    // \r\n keeps its \n, indented (a multi-line server message stays readable), the \r shown escaped
    expect(c.err()).toContain("\\r\n  hint: run rm -rf ~");

    const table = formatTable(["Name"], [{ Name: "evil\u001b[31mred\nsecond line\u009b" }]);
    expect(table).not.toMatch(/[\u001b\u009b]/);
    expect(table.split("\n")[2]).toBe("evil\\x1b[31mred\\nsecond line\\x9b");
  });
});
