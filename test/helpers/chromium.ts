import { existsSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

/**
 * Where a Chromium-family browser lives on this machine, for the headless-browser tests.
 * Order: `CHROMIUM_PATH` (a contributor's explicit choice), playwright's own download (if
 * `npx playwright install chromium` was run), then the usual system locations on Linux, macOS
 * and Windows. `undefined` when there is none.
 */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const explicit = env.CHROMIUM_PATH?.trim();
  if (explicit) return explicit; // taken as given: a wrong path should fail loudly, not be skipped
  const candidates = [playwrightChromium(), ...systemCandidates(env)];
  return candidates.find((p): p is string => p !== undefined && existsSync(p));
}

function playwrightChromium(): string | undefined {
  try {
    return chromium.executablePath();
  } catch {
    return undefined; // playwright-core throws when it has no browser of its own registered
  }
}

function systemCandidates(env: NodeJS.ProcessEnv): string[] {
  if (process.platform === "darwin") {
    return [
      "/Applications/Chromium.app/Contents/MacOS/Chromium",
      "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
      "/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
    ];
  }
  if (process.platform === "win32") {
    const roots = [env.PROGRAMFILES, env["PROGRAMFILES(X86)"], env.LOCALAPPDATA].filter((r): r is string =>
      Boolean(r),
    );
    return roots.flatMap((root) => [
      join(root, "Google", "Chrome", "Application", "chrome.exe"),
      join(root, "Microsoft", "Edge", "Application", "msedge.exe"),
      join(root, "Chromium", "Application", "chrome.exe"),
    ]);
  }
  return ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome", "/snap/bin/chromium"];
}

/** Why the browser tests cannot run here, or `undefined` when they can. CI must always have a browser. */
export function browserUnavailableReason(
  executable: string | undefined,
  env = process.env,
): string | undefined {
  if (executable) return undefined;
  const reason =
    "no Chromium found (set CHROMIUM_PATH, install Debian's `chromium`, or run `npx playwright install chromium`)";
  if (env.CI)
    throw new Error(`${reason}: CI must run the headless-browser tests (.ci/run installs chromium)`);
  return reason;
}
