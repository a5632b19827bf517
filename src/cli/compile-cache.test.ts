import { createHash } from "node:crypto";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import Module, { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type CompileCacheStats, compileCacheDir, enableCompileCache } from "./compile-cache.js";

describe("compileCacheDir", () => {
  it("is off with Node's own NODE_DISABLE_COMPILE_CACHE, and under NODE_COMPILE_CACHE when that is set", () => {
    expect(
      compileCacheDir({ NODE_DISABLE_COMPILE_CACHE: "1", XDG_CACHE_HOME: "/c" }, "linux"),
    ).toBeUndefined();
    expect(compileCacheDir({ NODE_COMPILE_CACHE: "/n", XDG_CACHE_HOME: "/c" }, "linux")).toBe(
      join("/n", "exo-cba"),
    );
  });

  it("is the platform's per-user cache directory otherwise", () => {
    expect(compileCacheDir({ XDG_CACHE_HOME: "/c" }, "linux")).toBe(join("/c", "exo-cba", "compile-cache"));
    expect(compileCacheDir({ LOCALAPPDATA: "L" }, "win32")).toBe(
      join("L", "exo-cba", "Cache", "compile-cache"),
    );
    expect(compileCacheDir({}, "darwin")).toMatch(/Library[\\/]Caches[\\/]exo-cba[\\/]compile-cache$/);
  });
});

// Node ≥ 22.1 has its own compile cache, which enableCompileCache hands the directory to instead of hooking
// `require`; these tests are about the hook, so they run where it is used (Node 20, what CI has).
const hasNativeCache = typeof (Module as { enableCompileCache?: unknown }).enableCompileCache === "function";

describe.skipIf(hasNativeCache)("the require hook (Node < 22.1)", () => {
  let work: string;
  let bundle: string;
  let cache: CompileCacheStats | undefined;
  const env = () => ({ XDG_CACHE_HOME: join(work, "cache") });
  /** A fresh load of `name` from the bundle folder (Node's require cache forgets it first). */
  const load = (name: string) => {
    const file = join(bundle, name);
    const req = createRequire(file);
    delete req.cache[file];
    return req(file) as { twice(x: number): number; dir: string };
  };
  const entries = async () => {
    const dir = cache?.dir;
    return dir ? (await readdir(dir)).filter((f) => f.endsWith(".v8")) : [];
  };

  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), "exo-compile-cache-"));
    bundle = join(work, "bundle/");
    await mkdir(bundle);
    await writeFile(join(bundle, "a.cjs"), "module.exports = { twice: (x) => x * 2, dir: __dirname };\n");
  });
  afterEach(async () => {
    cache?.close();
    cache = undefined;
    await rm(work, { recursive: true, force: true });
  });

  it("compiles from source once, then from the owner-only cache; module wiring is Node's", async () => {
    cache = enableCompileCache(bundle, env());
    const first = load("a.cjs");
    expect(first.twice(21)).toBe(42);
    expect(first.dir).toBe(bundle.slice(0, -1));
    expect([cache.hits, cache.misses]).toEqual([0, 1]);
    expect(await entries()).toEqual([]);
    cache.flush();
    const [entry] = await entries();
    expect(entry).toMatch(/^[0-9a-f]{32}\.v8$/);
    if (process.platform !== "win32") {
      expect((await stat(join(cache.dir as string, entry as string))).mode & 0o777).toBe(0o600);
      expect((await stat(cache.dir as string)).mode & 0o777).toBe(0o700);
    }
    cache.close();

    cache = enableCompileCache(bundle, env());
    expect(load("a.cjs").twice(4)).toBe(8);
    expect([cache.hits, cache.misses]).toEqual([1, 0]);
  });

  it("keys entries by content: a changed file of the same length is compiled afresh", async () => {
    cache = enableCompileCache(bundle, env());
    load("a.cjs");
    cache.flush();
    cache.close();
    // Same length, different code: V8's own check (length, version, flags) would accept the old entry.
    await writeFile(join(bundle, "a.cjs"), "module.exports = { twice: (x) => x * 3, dir: __dirname };\n");
    cache = enableCompileCache(bundle, env());
    expect(load("a.cjs").twice(2)).toBe(6);
    expect([cache.hits, cache.misses]).toEqual([0, 1]);
  });

  it("replaces an entry V8 rejects, and still runs the file", async () => {
    // Code this process has never compiled: V8 keeps compiled scripts in memory too, and a script it finds
    // there never looks at the cached data it is given.
    const source = `module.exports = { twice: (x) => x * 2, dir: __dirname, n: ${Date.now()} };\n`;
    await writeFile(join(bundle, "b.cjs"), source);
    const dir = join(compileCacheDir(env()) as string, `v8-${process.versions.v8}-${process.arch}`);
    const entry = join(dir, `${createHash("sha256").update(source).digest("hex").slice(0, 32)}.v8`);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(entry, Buffer.from("not V8 code cache data"));
    cache = enableCompileCache(bundle, env());
    expect(load("b.cjs").twice(5)).toBe(10);
    expect([cache.hits, cache.misses]).toEqual([0, 1]);
    cache.flush();
    expect((await readFile(entry)).toString("latin1")).not.toContain("not V8 code cache data");
  });

  it("leaves files outside the bundle folder to Node", async () => {
    await writeFile(join(work, "outside.cjs"), "module.exports = 7;\n");
    cache = enableCompileCache(bundle, env());
    expect(createRequire(join(work, "x.cjs"))("./outside.cjs")).toBe(7);
    expect([cache.hits, cache.misses]).toEqual([0, 0]);
  });

  it.skipIf(process.platform === "win32")(
    "does not use a directory that others can write to, or a symlink",
    async () => {
      const dir = compileCacheDir(env()) as string;
      const versioned = join(dir, `v8-${process.versions.v8}-${process.arch}`);
      await mkdir(versioned, { recursive: true });
      await chmod(versioned, 0o777);
      cache = enableCompileCache(bundle, env());
      expect(cache.dir).toBeUndefined();
      expect(load("a.cjs").twice(1)).toBe(2);
      cache.close();

      await rm(versioned, { recursive: true });
      await mkdir(join(work, "elsewhere"), { mode: 0o700 });
      await symlink(join(work, "elsewhere"), versioned);
      cache = enableCompileCache(bundle, env());
      expect(cache.dir).toBeUndefined();
    },
  );

  it("is off with NODE_DISABLE_COMPILE_CACHE", async () => {
    cache = enableCompileCache(bundle, { ...env(), NODE_DISABLE_COMPILE_CACHE: "1" });
    expect(cache.dir).toBeUndefined();
    expect(load("a.cjs").twice(3)).toBe(6);
    await expect(readdir(join(work, "cache"))).rejects.toThrow(/ENOENT/);
  });
});
