import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmulatorUsageError } from "../src/errors.js";
import { seedTenant } from "../src/graph/well-known.js";
import { StateStore } from "../src/state.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "exo-cba-state-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("StateStore", () => {
  it("seeds a new state dir, writes it owner-only, and reads it back after changes", async () => {
    const stateDir = join(dir, "a");
    const store = await StateStore.open(stateDir, () => [seedTenant()]);
    expect((await stat(stateDir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(stateDir, "state.json"))).mode & 0o777).toBe(0o600);
    store.defaultTenant.users[0]!.displayName = "first";
    const first = store.commit();
    store.defaultTenant.users[0]!.displayName = "second";
    await Promise.all([first, store.commit()]);
    const again = await StateStore.open(stateDir, () => {
      throw new Error("must not seed an existing state dir");
    });
    expect(again.defaultTenant.users[0]!.displayName).toBe("second");
  });

  it("finds the tenant by GUID or domain, in any case", async () => {
    const store = await StateStore.open(undefined, () => [seedTenant("Contoso.onmicrosoft.com")]);
    const { id, domain } = store.defaultTenant.tenant;
    expect(store.tenant(id.toUpperCase())?.tenant.domain).toBe(domain);
    expect(store.tenant("CONTOSO.onmicrosoft.com")?.tenant.id).toBe(id);
    expect(store.tenant("00000000-0000-4000-8000-000000000000")).toBeUndefined();
    expect(store.tenant("fabrikam.onmicrosoft.com")).toBeUndefined();
  });

  it("refuses an unreadable state file with a usage error that says what to do", async () => {
    const stateDir = join(dir, "b");
    await StateStore.open(stateDir, () => [seedTenant()]);
    await writeFile(join(stateDir, "state.json"), "{ half a file");
    const error = await StateStore.open(stateDir, () => [seedTenant()]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EmulatorUsageError);
    expect((error as EmulatorUsageError).hint).toMatch(/--state|delete/);
    expect(await readFile(join(stateDir, "state.json"), "utf8")).toBe("{ half a file");
  });
});
