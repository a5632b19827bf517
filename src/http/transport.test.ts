import type { RunningEmulator } from "@exo-cba/emulator";
import { startEmulator } from "@exo-cba/emulator";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { HttpTransport, STARTUP_EXTRA_CA } from "./transport.js";

/**
 * Trust: Node's default store when nothing beyond what the process started with is to be trusted,
 * our own context otherwise. The emulator's CA was not in this process's environment at start-up.
 */
describe("HttpTransport trust", () => {
  let emu: RunningEmulator;
  const globals = globalThis as Record<symbol, unknown>;
  const startedWith = process.env.NODE_EXTRA_CA_CERTS;
  beforeAll(async () => {
    emu = await startEmulator({ mailboxes: 1 });
  });
  afterAll(() => emu.close());
  afterEach(() => {
    delete globals[STARTUP_EXTRA_CA];
    if (startedWith === undefined) delete process.env.NODE_EXTRA_CA_CERTS;
    else process.env.NODE_EXTRA_CA_CERTS = startedWith;
  });

  const get = (t: HttpTransport) =>
    t
      .request({ method: "GET", url: `${emu.authorityHost}/common/discovery/instance` })
      .finally(() => t.close());

  it("trusts a NODE_EXTRA_CA_CERTS set after start-up (the launcher recorded none)", async () => {
    globals[STARTUP_EXTRA_CA] = "";
    process.env.NODE_EXTRA_CA_CERTS = emu.caFile;
    const res = await get(new HttpTransport());
    expect(res.status).toBeLessThan(500);
  });

  it("trusts an injected environment's NODE_EXTRA_CA_CERTS and caPem", async () => {
    globals[STARTUP_EXTRA_CA] = "";
    expect((await get(new HttpTransport({ env: { NODE_EXTRA_CA_CERTS: emu.caFile } }))).status).toBeLessThan(
      500,
    );
    expect((await get(new HttpTransport({ caPem: [emu.caPem] }))).status).toBeLessThan(500);
  });

  it("with nothing extra it keeps Node's store, which does not know the emulator's CA", async () => {
    globals[STARTUP_EXTRA_CA] = "";
    delete process.env.NODE_EXTRA_CA_CERTS;
    await expect(get(new HttpTransport())).rejects.toThrow(/certificate/i);
  });
});
