import { randomBytes } from "node:crypto";
import { chmod, mkdir, open, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * The few file helpers the emulator needs for its state directory (keys, certificates, the state file).
 * The emulator is its own package and imports nothing of exo-cba, so it keeps these small copies.
 */

/**
 * Write a file atomically: a sibling temp file, fsync, then rename over the target, so a crash leaves
 * the old file or the new one. `mode` applies from the first byte (0o600 for keys and state).
 */
export async function writeFileAtomic(
  path: string,
  data: string,
  options: { mode?: number } = {},
): Promise<void> {
  const mode = options.mode ?? 0o644;
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  const handle = await open(tmp, "wx", mode);
  try {
    await writeFile(handle, data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    // open() honours the umask; make the mode exact before the file becomes visible.
    await chmod(tmp, mode);
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/** Create a directory readable only by its owner (0700), tightening it if it already exists. */
export async function ensurePrivateDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  if (process.platform !== "win32") await chmod(path, 0o700);
}

export async function fileExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
