// Loaded with `node --import ./bench/rss-hook.js …`: prints the process's peak RSS on stderr at exit,
// so a benchmark can measure a whole CLI run without changing the CLI. It also samples
// process.memoryUsage() every second (an unref'd timer; memoryUsage() itself costs a few ms under load) so the peak can be split into the JS heap and
// what lives outside it (buffers, SQLite, native code).
import { writeSync } from "node:fs";

const peak = { heapUsedMb: 0, heapTotalMb: 0, externalMb: 0, arrayBuffersMb: 0, rssMb: 0 };
const mb = (bytes) => Math.round((bytes / 1048576) * 10) / 10;
const sample = () => {
  const m = process.memoryUsage();
  peak.heapUsedMb = Math.max(peak.heapUsedMb, mb(m.heapUsed));
  peak.heapTotalMb = Math.max(peak.heapTotalMb, mb(m.heapTotal));
  peak.externalMb = Math.max(peak.externalMb, mb(m.external));
  peak.arrayBuffersMb = Math.max(peak.arrayBuffersMb, mb(m.arrayBuffers));
  peak.rssMb = Math.max(peak.rssMb, mb(m.rss));
};
setInterval(sample, 1000).unref();

process.on("exit", () => {
  sample();
  writeSync(
    2,
    `\nBENCH_RSS ${JSON.stringify({ maxRssMb: process.resourceUsage().maxRSS / 1024, sampledPeaks: peak })}\n`,
  );
});
