import { spawnSync } from "node:child_process";
import { mkdtemp, readdir, readFile, utimes, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ExitCode, exitCodeFor } from "../errors.js";
import { acquireFileLock, lockPathFor, withFileLock } from "./lock.js";

async function dir() {
  return mkdtemp(join(tmpdir(), "exo-lock-"));
}

/** The pid of a process that has already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
  return Number(child.stdout.toString());
}

describe("withFileLock", () => {
  it("lets exactly one of many parallel read-modify-writes run at a time, so no update is lost", async () => {
    const d = await dir();
    const file = join(d, "counter.txt");
    await writeFile(file, "0");
    let inside = 0;
    let maxInside = 0;
    await Promise.all(
      Array.from({ length: 40 }, () =>
        withFileLock(file, async () => {
          inside++;
          maxInside = Math.max(maxInside, inside);
          const n = Number(await readFile(file, "utf8"));
          await new Promise((r) => setTimeout(r, 1));
          await writeFile(file, String(n + 1));
          inside--;
        }),
      ),
    );
    expect(await readFile(file, "utf8")).toBe("40");
    expect(maxInside).toBe(1);
    // Released: no lock file (and no stale leftovers) remain.
    expect(await readdir(d)).toEqual(["counter.txt"]);
  });

  it("takes over the lock of a process on this host that no longer runs", async () => {
    const d = await dir();
    const file = join(d, "profiles.json");
    const stale = { pid: deadPid(), host: hostname(), since: "2026-01-01T00:00:00.000Z", token: "x" };
    await writeFile(lockPathFor(file), JSON.stringify(stale));
    expect(await withFileLock(file, async () => "ran", { timeoutMs: 2000 })).toBe("ran");
    expect(await readdir(d)).toEqual([]);
  });

  it("takes over a lock of another host that has not been refreshed for staleMs", async () => {
    const d = await dir();
    const file = join(d, "profiles.json");
    const other = { pid: 1, host: "some-other-host", since: "2026-01-01T00:00:00.000Z", token: "y" };
    await writeFile(lockPathFor(file), JSON.stringify(other));
    const old = new Date(Date.now() - 120_000);
    await utimes(lockPathFor(file), old, old);
    expect(await withFileLock(file, async () => "ran", { timeoutMs: 2000, staleMs: 30_000 })).toBe("ran");
  });

  it("waits a bounded time for a live holder, then fails with exit 6 naming the holder and the lock file", async () => {
    const d = await dir();
    const file = join(d, "profiles.json");
    const release = await acquireFileLock(file);
    const error = await withFileLock(file, async () => "never", {
      timeoutMs: 300,
      what: "The profiles file",
    }).catch((e: unknown) => e);
    expect(exitCodeFor(error)).toBe(ExitCode.TransientExhausted);
    expect((error as Error).message).toMatch(
      new RegExp(`^The profiles file: locked by process ${process.pid} on .+; gave up waiting after 0 s\\.$`),
    );
    expect((error as { hint: string }).hint).toContain(lockPathFor(file));
    await release();
    expect(await withFileLock(file, async () => "after release", { timeoutMs: 300 })).toBe("after release");
  });

  it("a fresh lock of another host is not broken (it might be working on a shared home)", async () => {
    const d = await dir();
    const file = join(d, "profiles.json");
    const other = { pid: 1, host: "some-other-host", since: new Date().toISOString(), token: "z" };
    await writeFile(lockPathFor(file), JSON.stringify(other));
    const error = await withFileLock(file, async () => "never", { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(exitCodeFor(error)).toBe(ExitCode.TransientExhausted);
    expect((error as Error).message).toContain("process 1 on some-other-host");
    expect(JSON.parse(await readFile(lockPathFor(file), "utf8"))).toEqual(other);
  });

  it("releasing does not remove a lock that is no longer ours", async () => {
    const d = await dir();
    const file = join(d, "x.json");
    const release = await acquireFileLock(file);
    const someoneElse = JSON.stringify({ pid: 1, host: "h", since: "s", token: "t" });
    await writeFile(lockPathFor(file), someoneElse);
    await release();
    expect(await readFile(lockPathFor(file), "utf8")).toBe(someoneElse);
  });
});
