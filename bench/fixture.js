// A provisioned emulator tenant for benchmarks: the product's own setup, run with an admin token.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEmulator } from "@exo-cba/emulator";
import { HttpTransport } from "../dist/http/transport.js";
import { setupExchangeApp } from "../dist/setup/setup.js";

/** Start an emulator with `options`, run `setup` against it, and return what a client needs. */
export async function provisionedTenant(options = {}) {
  const startedAt = performance.now();
  const emu = await startEmulator(options);
  const emulatorStartMs = performance.now() - startedAt;
  const home = await mkdtemp(join(tmpdir(), "exo-cba-bench-"));
  const env = {
    ...process.env,
    ...emu.env,
    EXO_CBA_HOME: home,
    EXO_ADMIN_ACCESS_TOKEN: emu.issueAdminToken(),
  };
  const setupStart = performance.now();
  const result = await setupExchangeApp({
    organization: emu.tenant.domain,
    role: "exchange-administrator",
    home,
    env,
    transport: new HttpTransport({ caPem: [emu.caPem] }),
  });
  const setupMs = performance.now() - setupStart;
  if (result.status !== "applied" && result.status !== "unchanged")
    throw new Error(`setup: ${result.status}`);
  // Child processes get the same environment minus the admin token (least privilege even in benchmarks).
  const childEnv = { ...env };
  delete childEnv.EXO_ADMIN_ACCESS_TOKEN;
  return {
    emu,
    home,
    env: childEnv,
    appId: result.appId,
    setup: result,
    setupMs,
    emulatorStartMs,
    async close() {
      await emu.close();
      await rm(home, { recursive: true, force: true });
    },
  };
}
