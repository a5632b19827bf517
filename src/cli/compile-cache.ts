import { createHash } from "node:crypto";
import {
  closeSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import Module, { createRequire } from "node:module";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { Script, constants as vmConstants } from "node:vm";

/**
 * V8's compiled code for the CLI bundle, kept between runs. A scheduled `exo-cba invoke …` starts a fresh
 * process every few minutes; without a cache, V8 parses and compiles the ~250 KB of the invoke path on every
 * start, which is about a quarter of the whole start-up (docs/architecture.md, "Start-up").
 *
 * Node ≥ 22.1 does this itself (`module.enableCompileCache`); we hand it our directory. Node 20 has no such
 * switch, so there the bundle's own files (nothing else) are compiled through `vm.Script` with the cached
 * data, as the `v8-compile-cache` package did for Node's own `require`.
 *
 * Where: the platform's cache directory (`~/.cache/exo-cba/compile-cache`, `~/Library/Caches/…`,
 * `%LOCALAPPDATA%\exo-cba\Cache\…`), or `$NODE_COMPILE_CACHE/exo-cba` when that is set.
 * `NODE_DISABLE_COMPILE_CACHE=1` (Node's own switch) turns it off. The cache is code that runs as the user,
 * so on POSIX a directory that is not ours alone (another owner, group/world-writable, a symlink) is not
 * used. Any failure (read-only home, full disk) only means no cache: start-up never fails because of it.
 */

/** Our part of the cache root, or undefined when caching is off. */
export function compileCacheDir(
  env: NodeJS.ProcessEnv = process.env,
  platform = process.platform,
): string | undefined {
  if (env.NODE_DISABLE_COMPILE_CACHE) return undefined;
  if (env.NODE_COMPILE_CACHE) return join(env.NODE_COMPILE_CACHE, "exo-cba");
  if (platform === "win32") {
    const local = env.LOCALAPPDATA ?? join(homedir(), "AppData", "Local");
    return join(local, "exo-cba", "Cache", "compile-cache");
  }
  if (platform === "darwin") return join(homedir(), "Library", "Caches", "exo-cba", "compile-cache");
  return join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "exo-cba", "compile-cache");
}

export interface CompileCacheStats {
  /** The directory in use, or undefined when there is none (off, not ours alone, not creatable). */
  dir: string | undefined;
  /** Bundle files compiled from the cache. */
  hits: number;
  /** Bundle files compiled from source (no entry, or V8 rejected it); written to the cache on exit. */
  misses: number;
  /** Write what the misses compiled (also done on process exit). */
  flush(): void;
  /** Stop compiling through the cache (what was loaded stays loaded); pending entries are not written. */
  close(): void;
}

/**
 * Turn the cache on for the bundle files under `bundleDir` (an absolute path ending in a separator).
 * On Node ≥ 22.1, Node's own cache (all modules). Otherwise, our `require` hook for those files only.
 */
export function enableCompileCache(
  bundleDir: string,
  env: NodeJS.ProcessEnv = process.env,
): CompileCacheStats {
  const root = compileCacheDir(env);
  const native = (Module as { enableCompileCache?: (dir?: string) => unknown }).enableCompileCache;
  if (native) {
    if (root) native(join(root, "node"));
    return { dir: root, hits: 0, misses: 0, flush: () => {}, close: () => {} };
  }
  return hookCompile(
    bundleDir,
    root ? privateDir(join(root, `v8-${process.versions.v8}-${process.arch}`)) : undefined,
  );
}

/** Days an entry may go unwritten before a later miss removes it (entries of replaced builds). */
const STALE_MS = 30 * 86_400_000;
/** Node's CommonJS wrapper, the same parameters in the same order. */
const wrap = (source: string) =>
  `(function (exports, require, module, __filename, __dirname) { ${source}\n});`;

function hookCompile(bundleDir: string, dir: string | undefined): CompileCacheStats {
  const pending: { script: Script; file: string }[] = [];
  /** Every entry this process used or wrote: never pruned, whatever its age. */
  const used = new Set<string>();
  const stats: CompileCacheStats = { dir, hits: 0, misses: 0, flush, close };
  const proto = Module.prototype as unknown as {
    _compile: (this: Module, content: string, filename: string) => unknown;
  };
  const original = proto._compile;
  if (!dir || typeof original !== "function") return stats;
  const cacheDir = dir;

  proto._compile = compile;
  function compile(this: Module, content: string, filename: string) {
    if (!filename.startsWith(bundleDir)) return original.call(this, content, filename);
    // Keyed by the content: V8 itself only checks the source's length, its own version and its flags.
    const file = join(cacheDir, `${createHash("sha256").update(content).digest("hex").slice(0, 32)}.v8`);
    used.add(file);
    let cachedData: Buffer | undefined;
    try {
      cachedData = readFileSync(file);
    } catch {
      // No entry yet.
    }
    const script = new Script(wrap(content), {
      filename,
      ...(cachedData ? { cachedData } : {}),
      importModuleDynamically: vmConstants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    });
    if (cachedData && !script.cachedDataRejected) stats.hits++;
    else {
      stats.misses++;
      pending.push({ script, file });
    }
    const wrapper = script.runInThisContext({ displayErrors: true }) as (...args: unknown[]) => unknown;
    return wrapper.call(
      this.exports,
      this.exports,
      createRequire(filename),
      this,
      filename,
      dirname(filename),
    );
  }

  // At exit, so that the entry also holds the functions compiled while running, not only the top level.
  function flush() {
    const writes = pending.splice(0);
    if (!writes.length) return;
    try {
      for (const { script, file } of writes) writeAtomically(file, script.createCachedData());
      pruneStale(cacheDir, used);
    } catch {
      // A cache that cannot be written is no cache; the command itself is not affected.
    }
  }
  function close() {
    if (proto._compile === compile) proto._compile = original;
    pending.length = 0;
    process.off("exit", flush);
  }
  process.once("exit", flush);
  return stats;
}

/** `dir`, created owner-only if missing, when it is a real directory that only this user can write to. */
function privateDir(dir: string): string | undefined {
  try {
    let st = lstatOrUndefined(dir);
    if (!st) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      st = lstatSync(dir);
    }
    if (!st.isDirectory()) return undefined;
    if (process.platform !== "win32") {
      if (process.getuid && st.uid !== process.getuid()) return undefined;
      if (st.mode & 0o022) return undefined;
    }
    return dir;
  } catch {
    return undefined;
  }
}

function lstatOrUndefined(path: string) {
  try {
    return lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

function writeAtomically(file: string, data: Buffer) {
  const temp = `${file}.${process.pid}.tmp`;
  const fd = openSync(temp, "w", 0o600);
  try {
    writeSync(fd, data);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, file);
}

/** Entries of earlier builds: a miss means a new build, so this runs rarely, and never on a warm start. */
function pruneStale(dir: string, keep: Set<string>) {
  const now = Date.now();
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (keep.has(path)) continue;
    const st = lstatOrUndefined(path);
    if (st?.isFile() && now - st.mtimeMs > STALE_MS) rmSync(path, { force: true });
  }
}
