import { mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readTextIfExists, writeFileAtomic } from "./fs.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "exo-fs-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("readTextIfExists", () => {
  it("returns the text, undefined for a missing file, and throws on other errors", async () => {
    await writeFile(join(dir, "a.txt"), "hello");
    expect(await readTextIfExists(join(dir, "a.txt"))).toBe("hello");
    expect(await readTextIfExists(join(dir, "missing.txt"))).toBeUndefined();
    await expect(readTextIfExists(dir)).rejects.toMatchObject({ code: "EISDIR" });
  });
});

describe("writeFileAtomic", () => {
  it("writes with the exact mode and leaves no temp file behind", async () => {
    const path = join(dir, "sub", "secret.pem");
    await writeFileAtomic(path, "key", { mode: 0o600 });
    expect(await readTextIfExists(path)).toBe("key");
    if (process.platform !== "win32") expect((await stat(path)).mode & 0o777).toBe(0o600);
    await writeFileAtomic(path, "key2", { mode: 0o600 });
    expect(await readTextIfExists(path)).toBe("key2");
    expect(await readdir(join(dir, "sub"))).toEqual(["secret.pem"]);
  });
});
