// Loaded with `node --import ./bench/rss-hook.js …`: prints the process's peak RSS on stderr at exit,
// so a benchmark can measure a whole CLI run without changing the CLI.
import { writeSync } from "node:fs";

process.on("exit", () => {
  writeSync(2, `\nBENCH_RSS ${JSON.stringify({ maxRssMb: process.resourceUsage().maxRSS / 1024 })}\n`);
});
