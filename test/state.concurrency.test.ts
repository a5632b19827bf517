import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { RunningEmulator } from "@exo-cba/emulator";
import { startEmulator } from "@exo-cba/emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertStore } from "../src/cert/store.js";
import { readProfiles, saveProfile } from "../src/config/profiles.js";

/**
 * Many exo-cba processes writing the same state home at once (issue: six parallel `setup` runs kept 4–5
 * of 6 profiles). Real processes of the built CLI (`npm test` builds dist/ before vitest runs), against
 * the emulator started here: every profile and every store record must survive.
 */
const root = fileURLToPath(new URL("..", import.meta.url));
const bin = join(root, "bin", "exo-cba.js");

let emu: RunningEmulator;
beforeAll(async () => {
  if (!existsSync(join(root, "dist", "cli", "main.js"))) {
    throw new Error("dist/ is missing: run `npm run build` first (npm test does).");
  }
  emu = await startEmulator({ mailboxes: 3 });
});
afterAll(async () => {
  await emu?.close();
});

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString("utf8");
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

describe("parallel writers of one state home", () => {
  // Eight node processes with RSA key generation each: minutes of wall time on a loaded 2-core machine.
  it("six `setup --profile parN` and two `cert new` processes at once: every profile and record survives", {
    timeout: 300_000,
  }, async () => {
    const home = await mkdtemp(join(tmpdir(), "exo-parallel-"));
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? "",
      ...emu.env,
      EXO_CBA_HOME: home,
      EXO_ADMIN_ACCESS_TOKEN: emu.issueAdminToken(),
    };
    const setups = Array.from({ length: 6 }, (_, i) =>
      run(
        [
          "setup",
          "--organization",
          emu.tenant.domain,
          "--role",
          "global-reader",
          "--profile",
          `par${i}`,
          "--skip-verify",
          "--yes",
        ],
        env,
      ),
    );
    const certs = Array.from({ length: 2 }, (_, i) =>
      run(["cert", "new", "--dns-name", `par${i}.example.com`, "--cer-path", join(home, `par${i}.cer`)], env),
    );
    const results = await Promise.all([...setups, ...certs]);
    for (const r of results) expect(r.code, r.stderr).toBe(0);

    const profiles = await readProfiles(home);
    expect(Object.keys(profiles.profiles).sort()).toEqual(["par0", "par1", "par2", "par3", "par4", "par5"]);
    const store = await CertStore.open(home, env);
    const listed = await store.list();
    const thumbprints = new Set(listed.map((c) => c.thumbprint));
    // Each setup made its own certificate (its profile had none) and each cert new one more.
    expect(listed).toHaveLength(8);
    for (const p of Object.values(profiles.profiles))
      expect(thumbprints.has(p.certificateThumbprint!)).toBe(true);
    expect(listed.filter((c) => /^CN=par\d\.example\.com$/.test(c.subject))).toHaveLength(2);
    expect(listed.every((c) => c.hasKey)).toBe(true);
    // No lock file is left behind.
    expect((await readdir(home)).filter((n) => n.endsWith(".lock"))).toEqual([]);
  });

  it("six processes each saving and removing profiles in a loop: every kept profile survives", async () => {
    const home = await mkdtemp(join(tmpdir(), "exo-parallel-"));
    const profilesJs = join(root, "dist", "config", "profiles.js");
    // Each process saves 15 profiles of its own and removes every third one again, as fast as it can.
    const script = `
      const { saveProfile, removeProfile } = await import(${JSON.stringify(profilesJs)});
      const w = process.argv[1];
      for (let i = 0; i < 15; i++) {
        await saveProfile(${JSON.stringify(home)}, { name: "w" + w + "-" + i, organization: "contoso.onmicrosoft.com",
          appId: "11111111-2222-3333-4444-555555555555", environment: "O365Default" });
        if (i % 3 === 2) await removeProfile(${JSON.stringify(home)}, "w" + w + "-" + (i - 1));
      }`;
    const codes = await Promise.all(
      Array.from(
        { length: 6 },
        (_, w) =>
          new Promise<number | null>((resolve, reject) => {
            const child = spawn(process.execPath, ["--input-type=module", "-e", script, String(w)], {
              stdio: "inherit",
            });
            child.on("error", reject);
            child.on("close", resolve);
          }),
      ),
    );
    expect(codes).toEqual([0, 0, 0, 0, 0, 0]);
    const names = Object.keys((await readProfiles(home)).profiles).sort();
    const expected = [0, 1, 2, 3, 4, 5]
      .flatMap((w) =>
        Array.from({ length: 15 }, (_, i) => i)
          .filter((i) => i % 3 !== 1)
          .map((i) => `w${w}-${i}`),
      )
      .sort();
    expect(names).toEqual(expected);
  });

  it("sixteen saveProfile calls in parallel keep all sixteen profiles", async () => {
    const home = await mkdtemp(join(tmpdir(), "exo-parallel-"));
    await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        saveProfile(home, {
          name: `p${i}`,
          organization: "contoso.onmicrosoft.com",
          appId: "11111111-2222-3333-4444-555555555555",
          environment: "O365Default",
        }),
      ),
    );
    expect(Object.keys((await readProfiles(home)).profiles)).toHaveLength(16);
  });
});
