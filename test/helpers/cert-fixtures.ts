/** Shared helpers for certificate tests: an independent checker (the openssl CLI), temp homes, store snapshots. */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Run openssl; returns stdout followed by stderr. Throws (with the output) when it exits non-zero. */
export function openssl(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string | Buffer } = {},
): string {
  const result = opensslResult(args, options);
  if (!result.ok) throw new Error(`openssl ${args.join(" ")} failed:\n${result.output}`);
  return result.output;
}

/** A self-signed certificate and its unencrypted key, made by openssl itself (the independent side of the tests). */
export function opensslSelfSigned(o: {
  keyOut: string;
  certOut: string;
  subject: string;
  days?: number;
  /** `-newkey` argument, e.g. `rsa:2048` (default) or `ec -pkeyopt ec_paramgen_curve:P-256` parts */
  newKey?: string;
  /** further arguments, e.g. `-addext`, `…` */
  extra?: string[];
}): void {
  openssl([
    "req",
    "-x509",
    "-newkey",
    o.newKey ?? "rsa:2048",
    "-nodes",
    "-keyout",
    o.keyOut,
    "-out",
    o.certOut,
    "-subj",
    o.subject,
    "-days",
    String(o.days ?? 30),
    ...(o.extra ?? []),
  ]);
}

/** openssl with stdout and stderr together; `ok` says whether it exited 0. */
export function opensslResult(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string | Buffer } = {},
) {
  const r = spawnSync("openssl", args, {
    env: { ...process.env, ...options.env },
    ...(options.input !== undefined ? { input: options.input } : {}),
    encoding: "utf8",
  });
  return { ok: r.status === 0, output: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

export async function tempDir(prefix = "exo-cba-cert-"): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Every file under a directory with its mode and content hash, to prove that nothing was written. */
export async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(d: string) {
    let entries: import("node:fs").Dirent[];
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        out[`${p}/`] = ((await stat(p)).mode & 0o777).toString(8);
        await walk(p);
      } else {
        const hash = createHash("sha256")
          .update(await readFile(p))
          .digest("hex");
        out[p] = `${((await stat(p)).mode & 0o777).toString(8)} ${hash}`;
      }
    }
  }
  await walk(dir);
  return out;
}

export const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

/** Run the CLI in-process with captured streams and the given environment (no terminal: prompts fail). */
export async function runCli(
  argv: string[],
  env: NodeJS.ProcessEnv,
  options: { interactive?: boolean } = {},
) {
  const { runCli: run } = await import("./cli.js");
  return run(argv, env, { interactive: options.interactive ?? false });
}
