// `drcon watch` flags, checked (pure): one-line errors that name the fix.

import { DrconError } from "../base/errors.js";
import { parseDuration } from "../base/time.js";
import { dnsLabelProblem } from "../contract.js";

export const MAX_RATE = 5000;
export const MAX_CONCURRENCY = 1000;
/** Above this rate, plain output prints one line per second instead of one per request. */
export const PLAIN_PER_REQUEST_MAX_RATE = 20;

export interface WatchFlagValues {
  service?: string;
  url?: string;
  rate: string;
  concurrency: number;
  duration?: string;
  requests?: number;
  timeout: string;
}

export interface WatchOptions {
  service?: string;
  url?: string;
  rate: number;
  concurrency: number;
  durationMs?: number;
  requests?: number;
  timeoutMs: number;
}

export function parseWatchFlags(flags: WatchFlagValues): WatchOptions {
  if (flags.service !== undefined && flags.url !== undefined) {
    throw new DrconError("--service and --url both given: pick one (--url targets any URL)");
  }
  if (flags.duration !== undefined && flags.requests !== undefined) {
    throw new DrconError(
      "--duration and --requests both given: pick one (or neither, and stop with Ctrl-C)",
    );
  }
  if (flags.service !== undefined) {
    const problem = dnsLabelProblem(flags.service);
    if (problem) throw new DrconError(`--service ${flags.service}: not a service name: ${problem}`);
  }
  if (flags.url !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(flags.url);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
      throw new DrconError(
        `--url ${flags.url}: write an http:// or https:// URL, e.g. http://127.0.0.1:8080/`,
      );
    }
  }
  const rate = Number(flags.rate);
  if (!/^\d+(\.\d+)?$/.test(flags.rate.trim()) || !(rate > 0) || rate > MAX_RATE) {
    throw new DrconError(
      `--rate ${flags.rate}: write requests per second, more than 0 and at most ${MAX_RATE}, e.g. --rate 50`,
    );
  }
  if (!Number.isInteger(flags.concurrency) || flags.concurrency < 1) {
    throw new DrconError(`--concurrency ${flags.concurrency}: write a whole number of at least 1`);
  }
  if (flags.concurrency > MAX_CONCURRENCY) {
    throw new DrconError(`--concurrency ${flags.concurrency}: at most ${MAX_CONCURRENCY}`);
  }
  if (flags.requests !== undefined && (!Number.isInteger(flags.requests) || flags.requests < 1)) {
    throw new DrconError(`--requests ${flags.requests}: write a whole number of at least 1`);
  }
  return {
    ...(flags.service !== undefined ? { service: flags.service } : {}),
    ...(flags.url !== undefined ? { url: flags.url } : {}),
    rate,
    concurrency: flags.concurrency,
    ...(flags.duration !== undefined
      ? { durationMs: parseDuration(flags.duration, "--duration") }
      : {}),
    ...(flags.requests !== undefined ? { requests: flags.requests } : {}),
    timeoutMs: parseDuration(flags.timeout, "--timeout"),
  };
}

export interface WatchTarget {
  url: string;
  /** Host header for the request, when one is needed to pick a service. */
  host?: string;
  /** The service the requests reach, when known. */
  service?: string;
  /** For a person: where requests go. */
  label: string;
}

/** Where requests go: --url as given, else the LB, with `Host: <service>.localhost` for --service. */
export function resolveTarget(
  options: Pick<WatchOptions, "service" | "url">,
  lbUrl: string | undefined,
  defaultService: string,
): WatchTarget {
  if (options.url) return { url: options.url, label: options.url };
  if (!lbUrl) throw new DrconError("no LB URL: the stack is not up");
  const base = lbUrl.replace(/\/+$/, "");
  if (options.service) {
    const host = `${options.service}.localhost`;
    return { url: `${base}/`, host, service: options.service, label: `${base}/ (Host: ${host})` };
  }
  return {
    url: `${base}/`,
    service: defaultService,
    label: `${base}/ (default service ${defaultService})`,
  };
}
