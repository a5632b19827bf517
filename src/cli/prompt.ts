import { createInterface } from "node:readline/promises";
import { UsageError } from "../errors.js";
import type { CliContext } from "./context.js";

/**
 * Ask for confirmation. `--yes` answers for the user; without a terminal (or under CI) we never
 * prompt: the command fails with exit 2 and names the flag to add.
 */
export async function confirm(ctx: CliContext, question: string, flag = "--yes"): Promise<boolean> {
  if (ctx.yes) return true;
  if (!ctx.interactive) {
    throw new UsageError(`Confirmation needed: ${question}`, {
      hint: `Not asking because stdin is not a terminal; add ${flag} to proceed.`,
    });
  }
  const rl = createInterface({ input: process.stdin, output: ctx.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/** Ask the user to pick one of several choices; non-interactively the flag is required. */
export async function choose(
  ctx: CliContext,
  question: string,
  choices: Array<{ value: string; label: string }>,
  flag: string,
): Promise<string> {
  if (!ctx.interactive) {
    throw new UsageError(`${question} (no terminal to ask on)`, {
      hint: `Add ${flag} with one of: ${choices.map((c) => c.value).join(", ")}.`,
    });
  }
  ctx.stderr.write(`${question}\n`);
  choices.forEach((c, i) => {
    ctx.stderr.write(`  ${i + 1}) ${c.label}\n`);
  });
  const rl = createInterface({ input: process.stdin, output: ctx.stderr });
  try {
    for (;;) {
      const answer = (await rl.question(`Choose 1-${choices.length}: `)).trim();
      const n = Number(answer);
      const byNumber = Number.isInteger(n) ? choices[n - 1] : undefined;
      const byValue = choices.find((c) => c.value === answer);
      const picked = byNumber ?? byValue;
      if (picked) return picked.value;
    }
  } finally {
    rl.close();
  }
}
