// Start-up of the CLI as a ratio to a bare `node -e ''`, measured side by side (alternating runs, medians).
//   --version, --help: process spawn → exit.
//   invoke: process spawn → arrival of its first network request at the emulator (in this process): the
//   moment its first connection (to the identity host, for sign-in) is accepted. Sign-in itself and the
//   cmdlet call come after that instant and are not part of the figure; the command then completes.
//   The CLI's compile cache (src/cli/compile-cache.ts) lives in a temporary folder that the warm-up run
//   fills, as the first run of a scheduled job would; invokeCold is the same with the cache turned off
//   (NODE_DISABLE_COMPILE_CACHE=1), i.e. a first run.
// Run alone: `node bench/startup.js [rounds] [bin] [--against=<other bin>]` (after `npm run build`).
import { spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { provisionedTenant } from "./fixture.js";
import { now } from "./lib.js";

const defaultBin = new URL("../bin/exo-cba.js", import.meta.url).pathname;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Calls the pending waiter with the arrival time of the next TCP connection accepted by any server of this
 * process (the emulator's listeners). A new CLI process has no pooled sockets, so its first request opens
 * a connection; the ClientHello follows the accept within the same millisecond.
 */
function connectionRecorder() {
  let waiter;
  const original = Object.getOwnPropertyDescriptor(Server.prototype, "emit");
  Server.prototype.emit = function emit(event, ...args) {
    if (event === "connection" && waiter) {
      const w = waiter;
      waiter = undefined;
      w(now());
    }
    return EventEmitter.prototype.emit.call(this, event, ...args);
  };
  return {
    nextArrival: () =>
      new Promise((resolve) => {
        waiter = resolve;
      }),
    cancel: () => {
      waiter = undefined;
    },
    close: () => {
      if (original) Object.defineProperty(Server.prototype, "emit", original);
      else delete Server.prototype.emit;
    },
  };
}

/** Spawn node with `args`; resolves { exitMs, code } (spawn → exit), or first-request time via `arrival`. */
function run(args, env, arrival) {
  return new Promise((resolve, reject) => {
    const start = now();
    const child = spawn(process.execPath, args, { env, stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d) => {
      err += d;
    });
    let firstMs;
    arrival?.then((t) => {
      firstMs = t - start;
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      const exitMs = now() - start;
      child.on("close", () => {
        if (code !== 0) reject(new Error(`${args.join(" ")} exited ${code}: ${err.slice(-1500)}`));
        else resolve({ exitMs, firstMs });
      });
    });
  });
}

/**
 * Measure start-up ratios. `rounds` alternating runs of each case; returns medians (ms) and ratios to bare.
 */
export async function measureStartup({ rounds = 15, bin = defaultBin, against } = {}) {
  const t = await provisionedTenant({ mailboxes: 10 });
  const relay = connectionRecorder();
  const cacheHome = await mkdtemp(join(tmpdir(), "exo-bench-cache-"));
  try {
    const env = { ...t.env, XDG_CACHE_HOME: cacheHome };
    /** `invoke` of the CLI at `cli`: spawn → its first request at the emulator. */
    const untilFirstRequest = async (cli, extraEnv = {}) => {
      const arrival = relay.nextArrival();
      const args = [cli, "invoke", "Get-OrganizationConfig", "--output", "json"];
      const r = await run(args, { ...env, ...extraEnv }, arrival);
      if (r.firstMs === undefined) throw new Error("invoke made no request");
      return r.firstMs;
    };
    const cases = {
      bare: () => run(["-e", ""], env).then((r) => r.exitMs),
      version: () => run([bin, "--version"], env).then((r) => r.exitMs),
      help: () => run([bin, "--help"], env).then((r) => r.exitMs),
      invoke: () => untilFirstRequest(bin),
      invokeCold: () => untilFirstRequest(bin, { NODE_DISABLE_COMPILE_CACHE: "1" }),
    };
    // Another build (`--against=<bin>`, e.g. a worktree of the previous commit) side by side in the same
    // rounds: a change's effect without the drift between two separate runs.
    if (against) cases.invokeAgainst = () => untilFirstRequest(against);
    // One warm-up of each (file cache), not counted.
    for (const fn of Object.values(cases)) await fn();
    const times = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
    for (let i = 0; i < rounds; i++) for (const [k, fn] of Object.entries(cases)) times[k].push(await fn());
    const med = Object.fromEntries(Object.entries(times).map(([k, xs]) => [k, median(xs)]));
    return {
      rounds,
      medianMs: med,
      ratio: {
        version: med.version / med.bare,
        help: med.help / med.bare,
        invokeToFirstRequest: med.invoke / med.bare,
        invokeToFirstRequestCold: med.invokeCold / med.bare,
        ...(against ? { invokeToFirstRequestAgainst: med.invokeAgainst / med.bare } : {}),
      },
    };
  } finally {
    relay.cancel();
    relay.close();
    await t.close();
    await rm(cacheHome, { recursive: true, force: true });
  }
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const args = process.argv.slice(2).filter((a) => !a.startsWith("--against="));
  const against = process.argv.find((a) => a.startsWith("--against="))?.slice("--against=".length);
  const rounds = Number(args[0] ?? 15);
  const bin = args[1] ?? defaultBin;
  console.log(JSON.stringify(await measureStartup({ rounds, bin, against }), null, 2));
}
