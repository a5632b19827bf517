import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * One temporary folder per test run. Every test's `mkdtemp(tmpdir())` (and every child process it
 * spawns) lands under it because TMPDIR is set before vitest forks its workers, and the whole folder
 * goes at the end — so a test that forgets its own cleanup, or dies half-way, leaves nothing in /tmp.
 * KEEP_TEST_TMP=1 keeps it for a post-mortem.
 */
export default function setup(): () => void {
  const runDir = mkdtempSync(join(tmpdir(), "exo-cba-test-run-"));
  process.env.TMPDIR = runDir;
  process.env.TEMP = runDir; // Windows' os.tmpdir() reads TEMP/TMP
  process.env.TMP = runDir;
  return () => {
    if (process.env.KEEP_TEST_TMP === "1") {
      console.warn(`test temporary files kept in ${runDir}`);
      return;
    }
    rmSync(runDir, { recursive: true, force: true });
  };
}
