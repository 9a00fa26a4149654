// Entry of the registrator image: settings from the environment the LB-side `up` gives it,
// one JSON object per log line.

import { ConsulApi } from "../consul/client.js";
import { ENV } from "../contract.js";
import { DockerEngine } from "../docker/engine.js";
import { type Log, RegistratorAgent } from "./agent.js";

const log: Log = (level, msg, fields = {}) => {
  process.stdout.write(
    `${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`,
  );
};

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    log("error", `${name} is not set`);
    process.exit(2);
  }
  return value;
}

const stack = required(ENV.stack);
const network = process.env[ENV.network] ?? stack;
const [host = "127.0.0.1", port = "8500"] = required(ENV.consulAddress).split(":");
const agent = new RegistratorAgent(new DockerEngine(), new ConsulApi(host, Number(port)), {
  stack,
  routeKey: required(ENV.routeKey),
  network,
  resyncMs: Number(process.env.DRCON_RESYNC_SECONDS ?? 10) * 1000,
  heartbeatMs: 1000,
  dockerLostMs: 10_000,
  log,
});

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    log("info", `${signal}: stopping`);
    agent.stop();
    process.exit(0);
  });
}

log("info", "starting", { stack, network, consul: `${host}:${port}` });
agent.run().catch((err: Error) => {
  log("error", "stopped", { error: err.message });
  process.exit(1);
});
