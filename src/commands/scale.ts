import { Args, Flags } from "@oclif/core";
import { DrconError } from "../base/errors.js";
import { parseDuration } from "../base/time.js";
import { type Config, IMAGE_REF } from "../config/schema.js";
import { DEFAULT_DRAIN_TIMEOUT_MS } from "../services/drain.js";
import { runScale } from "../services/scale.js";
import { withDeployedSpecs } from "../stack/deployed.js";
import { withLabelledServices } from "../stack/instances.js";
import { StackRuntime } from "../stack/runtime.js";
import { parseScaleArgs } from "../stack/scale-plan.js";
import { DrconCommand } from "../ui/base-command.js";

export default class Scale extends DrconCommand {
  static override description =
    `Reconcile services to exactly N running instances (<stack>-<service>-<n>).

New instances join the load balancer by themselves; scale returns once they pass their health check and the LB routes to them (unless --no-wait). Scaling down drains first: the instance leaves the LB, and gets SIGTERM only once no request to it is in flight any more (at most --drain-timeout). Ctrl-C stops cleanly: an instance being drained is put back in service, one that has not joined yet is removed; a second Ctrl-C leaves at once, and the next scale or up repairs what is left. With no argument, every service goes to the replicas of its configuration.`;

  static override examples = [
    "<%= config.bin %> scale simple=3",
    "<%= config.bin %> scale simple=0",
    "<%= config.bin %> scale web=2 --image nginx:1.28.0-alpine --port 80",
    "<%= config.bin %> scale simple=5 --no-wait --json",
  ];

  static override strict = false;
  static override enableJsonFlag = true;

  static override args = {
    counts: Args.string({ description: "SERVICE=N, one or more", required: false }),
  };

  static override flags = {
    "no-wait": Flags.boolean({
      description: "return once containers start, without waiting for the LB",
    }),
    image: Flags.string({
      description:
        "image for a service that is not in the configuration (its instances remember it: later scales need no --image)",
    }),
    port: Flags.integer({
      // No `default`: oclif would then see --port as always given and demand --image.
      description: "port of that service's image (with --image) [default: 80]",
      min: 1,
      max: 65535,
      dependsOn: ["image"],
    }),
    "drain-timeout": Flags.string({
      description: `longest wait for requests in flight to an instance being stopped, e.g. 30s [default: ${DEFAULT_DRAIN_TIMEOUT_MS / 1000}s]`,
      env: "DRCON_DRAIN_TIMEOUT",
    }),
  };

  async run() {
    const { argv, flags } = await this.parse(Scale);
    const configured = this.stackConfig(flags);
    const config = withAdHocServices(configured, argv as string[], flags.image, flags.port ?? 80);
    // Services added earlier with --image are known by their instances' labels.
    const runtime = await withLabelledServices(new StackRuntime(config));
    const { services } = runtime.config;
    const requests =
      argv.length === 0
        ? Object.entries(configured.services).map(([service, s]) => ({
            service,
            replicas: s.replicas,
          }))
        : parseScaleArgs(argv as string[], Object.keys(services), config.maxReplicas);
    const drainTimeoutMs = flags["drain-timeout"]
      ? parseDuration(flags["drain-timeout"], "--drain-timeout")
      : DEFAULT_DRAIN_TIMEOUT_MS;
    const endpoints = await runtime.endpoints();
    const io = this.stepIo(
      "an instance being drained may be left in maintenance: the next drcon scale or up puts it back",
    );
    // After `drcon deploy`, new instances are of the deployed revision, not the configured one.
    const results = await runScale(
      await withDeployedSpecs(runtime, endpoints.consul),
      endpoints,
      requests,
      { noWait: flags["no-wait"], drainTimeoutMs },
      io,
    );
    const result = { stack: config.stack, services: results };
    if (this.jsonEnabled()) return result;
    for (const s of result.services) {
      const changes = [
        s.started.length ? `started ${s.started.join(", ")}` : "",
        s.stopped.length ? `stopped ${s.stopped.join(", ")}` : "",
        s.removed.length ? `removed dead ${s.removed.join(", ")}` : "",
        s.restored.length ? `put ${s.restored.join(", ")} back in service` : "",
      ].filter(Boolean);
      this.log(
        `${s.service}: ${s.replicas} instance(s)${changes.length ? ` (${changes.join("; ")})` : ", nothing changed"}`,
      );
    }
    return result;
  }
}

/** With --image, services named in the arguments that the config does not know are added. */
function withAdHocServices(
  config: Config,
  argv: string[],
  image: string | undefined,
  port: number,
): Config {
  if (!image) return config;
  if (!IMAGE_REF.test(image))
    throw new DrconError(`--image ${image}: write an image reference such as name:tag`);
  const services = { ...config.services };
  for (const arg of argv) {
    const name = arg.split("=")[0] ?? "";
    if (name && !(name in services)) services[name] = { image, port, replicas: 0, env: {} };
  }
  return { ...config, services };
}
