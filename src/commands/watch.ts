import { Flags } from "@oclif/core";
import { DrconError } from "../base/errors.js";
import { StackRuntime } from "../stack/runtime.js";
import { DrconCommand } from "../ui/base-command.js";
import { jsonSink, type OutputSink, plainSink } from "../ui/watch-output.js";
import { WatchScreen } from "../ui/watch-screen.js";
import { failureList } from "../watch/format.js";
import { PLAIN_PER_REQUEST_MAX_RATE, parseWatchFlags, resolveTarget } from "../watch/options.js";
import { plainSummary } from "../watch/render-plain.js";
import { RoutingTracker } from "../watch/routing.js";
import { WatchSession } from "../watch/session.js";
import type { Summary } from "../watch/stats.js";

export default class Watch extends DrconCommand {
  static override description =
    `Send requests through the load balancer at a steady rate and show, live, who serves them and what fails.

Each request is recorded with its status, latency, the instance that served it and, when it fails, why (connection refused, reset, timeout, 5xx, 503 no instance). Beside it, the routing table: per service its instances as Consul has them and what the LB routes to, so you see the moment both agree. On a terminal this is a live full-screen view; piped, one line per request (per second above ${PLAIN_PER_REQUEST_MAX_RATE}/s); with --json, NDJSON. It ends with a summary: totals, failures by kind, p50/p95/p99 latency and requests per instance.`;

  static override examples = [
    "<%= config.bin %> watch",
    "<%= config.bin %> watch --rate 200 --duration 1m",
    "<%= config.bin %> watch --service web --requests 500 --fail-on-error",
    "<%= config.bin %> watch --requests 60 --rate 50 --json",
    "<%= config.bin %> watch --url http://127.0.0.1:9000/health --rate 10",
  ];

  static override flags = {
    service: Flags.string({
      description:
        "service to send requests to (Host: NAME.localhost); default: the default service",
    }),
    url: Flags.string({ description: "send requests to this URL instead of the LB" }),
    rate: Flags.string({ description: "requests per second (at most 5000)", default: "5" }),
    concurrency: Flags.integer({
      description: "at most this many requests in flight",
      default: 50,
    }),
    duration: Flags.string({ description: "stop after this long, e.g. 30s or 2m" }),
    requests: Flags.integer({ description: "stop after this many requests" }),
    timeout: Flags.string({
      description: "a request with no answer for this long fails as a timeout",
      default: "5s",
    }),
    json: Flags.boolean({
      description:
        "NDJSON on stdout: one object per request, event, routing change and the summary",
    }),
    "fail-on-error": Flags.boolean({ description: "exit non-zero when any request failed" }),
  };

  async run() {
    const { flags } = await this.parse(Watch);
    const options = parseWatchFlags(flags);
    const config = this.stackConfig(flags);
    const runtime = new StackRuntime(config);
    // With --url the requests need no stack; the routing table does, when there is one.
    const endpoints = options.url
      ? await runtime.endpoints().catch(() => undefined)
      : await runtime.endpoints();
    const target = resolveTarget(options, endpoints?.lbUrl, config.defaultService);
    const settings = {
      target,
      rate: options.rate,
      concurrency: options.concurrency,
      timeoutMs: options.timeoutMs,
      ...(options.requests !== undefined ? { requests: options.requests } : {}),
      ...(options.durationMs !== undefined ? { durationMs: options.durationMs } : {}),
    };

    const controller = new AbortController();
    const write = (line: string) => process.stdout.write(`${line}\n`);
    let screen: WatchScreen | undefined;
    let output: OutputSink;
    if (flags.json) output = jsonSink(write, endpoints ? config.stack : null);
    else if (WatchScreen.fits()) {
      screen = new WatchScreen(() => stop());
      output = { request: () => {}, summary: (s) => write(plainSummary(s)) };
    } else output = plainSink(write, options.rate <= PLAIN_PER_REQUEST_MAX_RATE);

    let session: WatchSession | undefined;
    const tracker = endpoints
      ? new RoutingTracker(
          endpoints.consul,
          endpoints.lbUrl,
          [...new Set([...Object.keys(config.services), target.service ?? config.defaultService])],
          (events) => session?.onRoutingUpdate(events),
        )
      : undefined;
    session = new WatchSession(settings, output, tracker);

    // The first Ctrl-C stops sending and lets requests in flight finish; a second one leaves now.
    let interrupts = 0;
    const stop = () => {
      interrupts++;
      if (interrupts === 1) {
        controller.abort();
        return;
      }
      screen?.stop();
      // What completed so far still gets its summary; what was in flight is not counted.
      if (session) output.summary(session.summarySoFar());
      process.exit(130);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);

    let summary: Summary;
    try {
      const running = session.run(controller.signal);
      const current = session;
      screen?.start(() => current.view());
      summary = await running;
      screen?.draw();
    } finally {
      tracker?.stop();
      screen?.stop();
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
    }
    output.summary(summary);
    if (flags["fail-on-error"] && summary.failed > 0) {
      throw new DrconError(
        `${summary.failed} of ${summary.total} requests failed (${failureList(summary.failures)}), and --fail-on-error was given`,
      );
    }
  }
}
