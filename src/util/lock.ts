import { randomBytes } from "node:crypto";
import { link, mkdir, open, readFile, rename, rm, stat, utimes } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname } from "node:path";
import { TransientError } from "../errors.js";

/**
 * A lock file for read-modify-write of a state file (docs/operations.md "Parallel runs"): created with
 * O_EXCL (`open(..., "wx")`), so exactly one process holds it; holders on this host are recognised by
 * pid, so the lock of a killed process is taken over at once; a lock of another host (a shared home)
 * counts as stale when its mtime is older than `staleMs` — holders refresh it while they work.
 * Waiting is bounded: after `timeoutMs` the caller gets exit 6 naming the holder.
 */
export interface LockOptions {
  /** Give up waiting after this long (default 15 s; the holds guarded here last milliseconds). */
  timeoutMs?: number;
  /** A lock not refreshed for this long is stale (default 30 s; holders refresh it every staleMs / 3). */
  staleMs?: number;
  /** What is locked, for the message when the wait times out (e.g. "the profiles file"). */
  what?: string;
}

interface LockOwner {
  pid: number;
  host: string;
  since: string;
  token: string;
}

const DEFAULT_TIMEOUT_MS = 15_000;
const DEFAULT_STALE_MS = 30_000;

export const lockPathFor = (path: string) => `${path}.lock`;

/** Run `work` while holding `<path>.lock`; the lock is released however `work` ends. */
export async function withFileLock<T>(path: string, work: () => Promise<T>, options: LockOptions = {}) {
  const release = await acquireFileLock(path, options);
  try {
    return await work();
  } finally {
    await release();
  }
}

/** Take `<path>.lock`, waiting (bounded, with jitter) while a live holder has it. Returns the release. */
export async function acquireFileLock(path: string, options: LockOptions = {}): Promise<() => Promise<void>> {
  const lockPath = lockPathFor(path);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const staleMs = options.staleMs ?? DEFAULT_STALE_MS;
  const me: LockOwner = {
    pid: process.pid,
    host: hostname(),
    since: new Date().toISOString(),
    token: randomBytes(8).toString("hex"),
  };
  const body = `${JSON.stringify(me)}\n`;
  await mkdir(dirname(lockPath), { recursive: true, mode: 0o700 });
  const started = Date.now();
  let delay = 5;
  for (;;) {
    try {
      const handle = await open(lockPath, "wx", 0o600);
      try {
        await handle.writeFile(body);
      } finally {
        await handle.close();
      }
      return heartbeat(lockPath, body, staleMs);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = await readOwner(lockPath);
    if (holder && (await isStale(lockPath, holder.owner, staleMs))) {
      await breakStale(lockPath, holder.text);
      continue;
    }
    if (Date.now() - started >= timeoutMs) {
      const who = holder?.owner
        ? `process ${holder.owner.pid} on ${holder.owner.host} (since ${holder.owner.since})`
        : "another process";
      throw new TransientError(
        `${options.what ?? path}: locked by ${who}; gave up waiting after ${Math.round(timeoutMs / 1000)} s.`,
        {
          hint: `Wait for the other exo-cba command to finish and run this one again. If no exo-cba is running, delete ${lockPath}.`,
        },
      );
    }
    // Full jitter: parallel waiters do not retry in lockstep.
    await new Promise((r) => setTimeout(r, Math.random() * delay));
    delay = Math.min(delay * 2, 200);
  }
}

/** Keep the lock's mtime fresh while held (for holders on other hosts); the release removes it if still ours. */
function heartbeat(lockPath: string, body: string, staleMs: number): () => Promise<void> {
  const timer = setInterval(
    () => {
      const now = new Date();
      utimes(lockPath, now, now).catch(() => {});
    },
    Math.max(1000, Math.floor(staleMs / 3)),
  );
  timer.unref();
  return async () => {
    clearInterval(timer);
    // Only our own lock is removed: had it been broken as stale and retaken, it is someone else's now.
    const current = await readFile(lockPath, "utf8").catch(() => undefined);
    if (current === body) await rm(lockPath, { force: true });
  };
}

async function readOwner(
  lockPath: string,
): Promise<{ text: string; owner: LockOwner | undefined } | undefined> {
  let text: string;
  try {
    text = await readFile(lockPath, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined; // released meanwhile
    throw error;
  }
  try {
    const owner = JSON.parse(text) as LockOwner;
    return {
      text,
      owner: typeof owner.pid === "number" && typeof owner.host === "string" ? owner : undefined,
    };
  } catch {
    // Empty or half-written: the holder is between open and write, or died there (then mtime ages).
    return { text, owner: undefined };
  }
}

async function isStale(lockPath: string, owner: LockOwner | undefined, staleMs: number) {
  if (owner && owner.host === hostname()) return !processAlive(owner.pid);
  try {
    return Date.now() - (await stat(lockPath)).mtimeMs > staleMs;
  } catch {
    return false; // gone: the next open() succeeds
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Remove a stale lock without removing a fresh one that replaced it meanwhile: move it aside under a
 * unique name, check it is the stale one we judged, and put it back (link, which never overwrites) if not.
 */
async function breakStale(lockPath: string, staleText: string): Promise<void> {
  const aside = `${lockPath}.${randomBytes(6).toString("hex")}.stale`;
  try {
    await rename(lockPath, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  const moved = await readFile(aside, "utf8").catch(() => undefined);
  if (moved !== staleText) await link(aside, lockPath).catch(() => {});
  await rm(aside, { force: true });
}
