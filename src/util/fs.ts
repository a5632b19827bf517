import { randomBytes } from "node:crypto";
import { chmod, mkdir, open, readFile, rename, rm, rmdir, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { UsageError } from "../errors.js";

/** Cap of certificate, key and PFX files: real ones are a few KB, a long chain well under 1 MiB. */
export const MAX_CERTIFICATE_FILE_BYTES = 1024 * 1024;
/** Cap of small text inputs (password files, byte-count files). */
export const MAX_SMALL_FILE_BYTES = 64 * 1024;

/**
 * Read a whole input file, but never more than `maxBytes`: a device such as /dev/zero, a FIFO or a
 * wrong multi-gigabyte file is refused (UsageError, exit 2) instead of being read without end.
 * Other read errors (ENOENT, EACCES) are thrown as they are, for the caller to word.
 */
export async function readFileCapped(path: string, maxBytes: number, what: string): Promise<Buffer> {
  const handle = await open(path, "r");
  try {
    const chunks: Buffer[] = [];
    let size = 0;
    for (;;) {
      const buffer = Buffer.allocUnsafe(Math.min(64 * 1024, maxBytes + 1 - size));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      size += bytesRead;
      if (size > maxBytes) {
        throw new UsageError(
          `${what} ${path} is larger than ${formatLimit(maxBytes)}; it is not the file exo-cba expects.`,
        );
      }
      chunks.push(buffer.subarray(0, bytesRead));
    }
    return Buffer.concat(chunks);
  } finally {
    await handle.close();
  }
}

/**
 * Make sure `path` is a directory we can create files in (creating it if missing) by writing and
 * removing a small probe file: a read-only folder, a path that is a file, or a full disk is a UsageError
 * (exit 2) before any work starts.
 */
export async function assertWritableDirectory(path: string, what: string): Promise<void> {
  const probe = join(path, `.exo-cba-write-check-${randomBytes(6).toString("hex")}`);
  let created: string | undefined;
  try {
    created = await mkdir(path, { recursive: true });
    const handle = await open(probe, "wx", 0o600);
    try {
      await handle.writeFile("exo-cba write check\n");
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`Cannot write to ${what} ${path}: ${code ?? (error as Error).message}.`, {
      hint: "Give a directory the job's user can write to, on a disk with free space.",
    });
  } finally {
    await rm(probe, { force: true }).catch(() => undefined);
    // Folders made only for the check are removed again: a run that fails later leaves nothing behind
    // (the files' own write creates them).
    for (let dir = path; created !== undefined; dir = dirname(dir)) {
      const removed = await rmdir(dir).then(
        () => true,
        () => false,
      );
      if (!removed || dir === created || dirname(dir) === dir) break;
    }
  }
}

const formatLimit = (bytes: number) =>
  bytes >= 1024 * 1024 ? `${bytes / (1024 * 1024)} MiB` : `${bytes / 1024} KiB`;

/**
 * Write a file atomically: write a sibling temp file, fsync it, then rename over the target.
 * A crash leaves either the old file or the new one, never half of either.
 * `mode` applies to the new file from its first byte (0o600 for anything secret).
 * `data` may also be an (async) iterable of chunks, so large files are streamed, not built in memory.
 * Missing parent folders are created unless `createParents: false`.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array | Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array>,
  options: { mode?: number; createParents?: boolean } = {},
): Promise<void> {
  const mode = options.mode ?? 0o644;
  // A user-named output file (`--cer-path`, `cert export`) does not get missing folders made for it.
  if (options.createParents !== false) await mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  const handle = await open(tmp, "wx", mode);
  try {
    await writeFile(handle, data);
    await handle.sync();
  } catch (error) {
    // A failing chunk source must not leave a half-written temp file behind.
    await handle.close();
    await rm(tmp, { force: true });
    throw error;
  }
  await handle.close();
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

/** True when a file's POSIX mode lets group or others read it (always false on Windows). */
export async function isGroupOrWorldReadable(path: string): Promise<boolean> {
  if (process.platform === "win32") return false;
  const s = await stat(path);
  return (s.mode & 0o077) !== 0;
}

export async function fileExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** A file's text, or undefined when it does not exist (any other error is thrown). */
export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/**
 * A user-named output file that cannot be written, as exit 2 with the reason (missing folder, a folder
 * in the way, no permission, read-only or full disk); anything else is rethrown as it is.
 */
export function outputFileError(what: string, path: string, error: unknown, hint: string): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reasons: Record<string, string> = {
    ENOENT: "its folder does not exist",
    ENOTDIR: "a part of its folder path is a file",
    EISDIR: "it is a folder",
    EACCES: "permission denied",
    EPERM: "permission denied",
    EROFS: "the file system is read-only",
    ENOSPC: "the disk is full",
    EDQUOT: "the disk quota is exhausted",
  };
  const reason = code ? reasons[code] : undefined;
  if (!reason) return error;
  return new UsageError(`Cannot write ${what} ${path}: ${reason} (${code}).`, { hint, cause: error });
}
