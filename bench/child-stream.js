// One side of the streaming benchmark, in its own process so its peak RSS is its own.
//   node bench/child-stream.js client   — exo-cba's client: stream() + ndjson to a sink (rows normalised, the default)
//   node bench/child-stream.js client-raw — the same with { raw: true } (wire rows, no normalisation)
//   node bench/child-stream.js raw      — the floor: a minimal loop of raw HTTPS page requests, same output
import { readFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { Writable } from "node:stream";
import { rootCertificates } from "node:tls";

const mode = process.argv[2];
let bytes = 0;
let rows = 0;
const sink = new Writable({
  write(chunk, _enc, cb) {
    bytes += chunk.length;
    cb();
  },
});
const emit = (row) => {
  rows++;
  sink.write(`${JSON.stringify(row)}\n`);
};
// Both sides start timing with a token in hand and nothing fetched: the comparison is the paging itself.
// (Process start, module loading and sign-in are measured by the "first invoke" benchmark.)
let started = performance.now();

if (mode === "client" || mode === "client-raw") {
  const { connectExchangeOnline } = await import("../dist/exchange/connect.js");
  const env = process.env;
  const exo = await connectExchangeOnline({
    appId: env.EXO_APP_ID,
    organization: env.EXO_ORGANIZATION,
    certificate: { thumbprint: env.EXO_CERTIFICATE_THUMBPRINT },
    env,
  });
  await exo.tokenProvider.getToken();
  started = performance.now();
  const options = mode === "client-raw" ? { raw: true } : {};
  for await (const row of exo.stream("Get-Mailbox", { ResultSize: "Unlimited" }, options)) emit(row);
  await exo.disconnect();
} else {
  // Same token, same pages, no retries, no normalisation: what a hand-written loop would do.
  const token = process.env.BENCH_TOKEN;
  const ca = [...rootCertificates, readFileSync(process.env.NODE_EXTRA_CA_CERTS, "utf8")];
  const agent = new Agent({ keepAlive: true, ca });
  const body = JSON.stringify({
    CmdletInput: { CmdletName: "Get-Mailbox", Parameters: { ResultSize: "Unlimited" } },
  });
  let url = `${process.env.EXO_EXCHANGE_ENDPOINT}/adminapi/beta/${process.env.EXO_ORGANIZATION}/InvokeCommand`;
  started = performance.now();
  while (url) {
    const page = await new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method: "POST",
          agent,
          headers: {
            Authorization: `Bearer ${token}`,
            "Content-Type": "application/json",
            Prefer: "odata.maxpagesize=1000",
            "X-ResponseFormat": "json",
          },
        },
        (res) => {
          const chunks = [];
          res.on("data", (c) => chunks.push(c));
          res.on("end", () => {
            if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode}`));
            else resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
          });
        },
      );
      req.on("error", reject);
      req.end(body);
    });
    for (const row of page.value) emit(row);
    url = page["@odata.nextLink"];
  }
  agent.destroy();
}

const ms = performance.now() - started;
console.log(JSON.stringify({ mode, rows, bytes, ms, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
