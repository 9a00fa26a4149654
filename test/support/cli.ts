// Shared by the end-to-end tests (test/e2e/harness.ts) and the benchmarks (bench/lib.js): the
// stand-in images, the real CLI as a child process, and a plain GET. Only node: imports and
// erasable TypeScript, so that node runs it as it is (the benchmarks import it without a build).
import { type ChildProcessByStdio, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { type Agent, request } from "node:http";
import { join } from "node:path";
import type { Readable } from "node:stream";

const ROOT = join(import.meta.dirname, "..", "..");
const CI_ENV = join(ROOT, "test", "images", "ci.env");
const BIN = join(ROOT, "bin", "run.js");

/** The DRCON_* settings that point drcon at the offline stand-in images (test/images/ci.env). */
export function standInEnv(): Record<string, string> {
  if (!existsSync(CI_ENV)) return {};
  const entries = readFileSync(CI_ENV, "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => l.split(/=(.*)/s).slice(0, 2) as [string, string]);
  return Object.fromEntries(entries);
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** Wall time from start to exit. */
  ms: number;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Then SIGTERM (170 s by default); the exit code is then 1 unless the program chose another. */
  timeoutMs?: number;
  /** A command that runs it (e.g. nsenter into another network namespace). */
  via?: string[];
  /** Sees each chunk of stdout as it arrives (to time the CLI's progress lines). */
  onStdout?: (chunk: string) => void;
}

/** A program started with its output gathered; `closed` resolves once it has ended. */
export interface Gathering {
  child: ChildProcessByStdio<null, Readable, Readable>;
  closed: Promise<CliRun>;
}

/**
 * Starts a program (no shell) and gathers what it writes; `closed` never rejects on its exit
 * code. `onStdout` sees each chunk of stdout as it arrives.
 */
export function gathering(file: string, args: string[], options: CliOptions = {}): Gathering {
  const t0 = performance.now();
  const child = spawn(file, args, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    stdout += d;
    options.onStdout?.(d);
  });
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
  });
  const timer = setTimeout(() => child.kill("SIGTERM"), options.timeoutMs ?? 170_000);
  const closed = new Promise<CliRun>((resolve, reject) => {
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr, ms: performance.now() - t0 });
    });
  });
  return { child, closed };
}

/** Starts the real CLI (bin/run.js on the built dist/), through `via` when given. */
export function startCli(args: string[], options: CliOptions = {}): Gathering {
  const [command = process.execPath, ...before] = [...(options.via ?? []), process.execPath];
  return gathering(command, [...before, BIN, ...args], options);
}

/** Runs the real CLI to its end; never rejects on its exit code. */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliRun> {
  return startCli(args, options).closed;
}

/** What a request sends beyond a plain GET on a fresh connection. */
export interface RequestOptions {
  agent?: Agent;
  method?: string;
  body?: string;
  timeoutMs?: number;
}

/**
 * A plain GET (node:http, so the Host header can be set). A failed request rejects with an error
 * whose `reusedSocket` says whether it went over a kept-alive connection.
 */
export function get(
  url: string,
  host?: string,
  options: RequestOptions = {},
): Promise<{ status: number; body: string; upstream?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? "GET",
        headers: host ? { Host: host } : {},
        timeout: options.timeoutMs ?? 3000,
        agent: options.agent ?? false,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c) => {
          body += c;
        });
        res.on("error", reject);
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            body,
            upstream: res.headers["x-drcon-upstream"] as string | undefined,
          }),
        );
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (err) => reject(Object.assign(err, { reusedSocket: req.reusedSocket })));
    req.end(options.body);
  });
}
