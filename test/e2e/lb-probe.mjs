// Polls a URL every 50 ms and prints one JSON line per change of outcome: {"t": epoch ms,
// "status": HTTP status, or 0 when no answer}. Run by the engine-fault tests inside the inner
// engine's network namespace (nsenter --net), where the stack's LB is published. Ends on SIGTERM
// or after the given number of seconds.
//   node lb-probe.mjs URL SECONDS
import { request } from "node:http";

const [url, seconds = "300"] = process.argv.slice(2);
const deadline = Date.now() + Number(seconds) * 1000;

function status() {
  return new Promise((resolve) => {
    const req = request(url, { timeout: 1000, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(0));
    req.end();
  });
}

process.on("SIGTERM", () => process.exit(0));
let last;
while (Date.now() < deadline) {
  const t = Date.now();
  const s = await status();
  if (s !== last) process.stdout.write(`${JSON.stringify({ t, status: s })}\n`);
  last = s;
  await new Promise((r) => setTimeout(r, Math.max(0, 50 - (Date.now() - t))));
}
