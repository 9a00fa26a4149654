// convergence: how long a new instance takes to serve through the LB after `docker start` (join),
// and how long the LB keeps routing to an instance after SIGKILL (leave), each broken into parts.
//
// The stack runs one instance (drcon scale simple=1). Each trial creates one more container the
// way drcon does (instanceSpec: the stack network, SERVICE_80_NAME=simple, the demo image), starts
// it, and follows it through Docker, the registrator's log, Consul (a blocking query, so no
// polling delay), the LB's /routes (polled) and requests sent through the LB at a fixed rate;
// then it SIGKILLs it and follows it out the same way. The LB's error log names every request
// nginx tried on the dead instance (each probe request carries its number in the query string).
import { resolve } from "node:path";
import { waitFor } from "../dist/base/wait.js";
import { instanceSpec } from "../dist/stack/components.js";
import { fetchRoutes } from "../dist/stack/lb-routes.js";
import { get } from "../test/support/cli.ts";
import {
  containerLogs,
  engine,
  fmtSpread,
  printTable,
  ROOT,
  registratorLog,
  requestLoop,
  round,
  sleep,
  spread,
  stackConfig,
  target,
  withStack,
} from "./lib.js";
import { stagesSvg, writeSvg } from "./svg.js";

export const description =
  "join (docker start -> first request served through the LB) and leave (SIGKILL -> LB stops routing), in parts";
export const stacks = ["bench-conv"];
export const options = {
  trials: { default: "20", help: "trials (join + leave each)" },
  "probe-rate": { default: "200", help: "requests/s through the LB while a trial runs" },
  "poll-ms": { default: "10", help: "interval of the /routes poll (ms)" },
  svg: {
    default: "docs/benchmarks/join-stages.svg",
    help: "the join's stages as a picture, relative to the repository (none: no picture)",
  },
};

const STACK = "bench-conv";
const PORT = 18780;
const CONSUL_PORT = 18781;
/** A trial that has not converged by then failed. */
const TRIAL_TIMEOUT_MS = 15_000;

/** What bounds each part, for the output and the doc. */
const BOUNDS = {
  start: "the Docker engine (container start: runc, network attach)",
  answered: "the app's own start, seen by a direct probe every 1 ms once `docker start` returned",
  registered:
    "the registrator (Docker start event, inspect, its own probe of the port every 2 ms at first, Consul register)",
  consul: "Consul (register to blocking-query answer)",
  rendered: "consul-template (blocking-query answer to render; no quiescence wait)",
  routed:
    "apply-render.sh: nginx -t, then the reload (SIGHUP; the old workers stop as soon as the new ones exist)",
  served: "the round-robin turn after the reload and the probe interval",
};

/** @param {Record<keyof typeof options, string>} opts */
export async function run(opts) {
  const trials = Number(opts.trials);
  const rate = Number(opts["probe-rate"]);
  const pollMs = Number(opts["poll-ms"]);
  return withStack(
    { stack: STACK, port: PORT, consulPort: CONSUL_PORT, instances: 1 },
    async (s) => {
      const config = stackConfig(STACK, { lb: PORT, consul: CONSUL_PORT });
      const svc = config.services.simple;
      if (!svc) throw new Error("the configuration has no service simple");

      const routes = pollRoutes(s.lbUrl, pollMs);
      const consul = followConsul(s.consul);
      await waitFor(
        async () => (consul.history.length ? true : undefined),
        "Consul's first answer",
        {
          timeoutMs: 30_000,
          intervalMs: 50,
        },
      );
      await waitFor(
        async () => (routes.history.length ? true : undefined),
        "the LB's first /routes",
        {
          timeoutMs: 30_000,
          intervalMs: 50,
        },
      );

      /** @type {Trial[]} */
      const results = [];
      try {
        for (let i = 1; i <= trials; i++) {
          const trial = await runTrial(s, config, svc, i, rate, routes, consul);
          results.push(trial);
          console.log(
            `trial ${i}/${trials}: join ${fmt(trial.join.served)} ms (routed ${fmt(trial.join.routed)}), leave: routes ${fmt(trial.leave.routesGone)} ms, last request tried on it ${fmt(trial.leave.lastReached)} ms (${trial.leave.reachedCount} tried), probe failures ${trial.probeFailed}`,
          );
          await sleep(500);
        }
      } finally {
        routes.stop();
        consul.stop();
      }
      const summary = summarise(results, trials, rate, pollMs);
      if (opts.svg && opts.svg !== "none") {
        writeSvg(resolve(ROOT, opts.svg), joinPicture(summary.figures.joinPartsMs));
        summary.notes.push(`join stages written to ${opts.svg}`);
      }
      return summary;
    },
  );
}

/** @param {number | null | undefined} x */
const fmt = (x) => (x === null || x === undefined ? "–" : round(x, 0));

/**
 * @typedef {{ join: Record<string, number | null>, leave: Record<string, number | null> & { reachedCount: number },
 *   probeRequests: number, probeFailed: number, slowAfterKill: number,
 *   consulListedAnyStatus: number | null, registratorLog: string[] }} Trial
 */

/**
 * @param {import("./lib.js").Stack} s
 * @param {ReturnType<typeof stackConfig>} config
 * @param {any} svc
 * @param {number} i
 * @param {number} rate
 * @param {ReturnType<typeof pollRoutes>} routes
 * @param {ReturnType<typeof followConsul>} consul
 * @returns {Promise<Trial>}
 */
async function runTrial(s, config, svc, i, rate, routes, consul) {
  const spec = instanceSpec(config, "simple", svc, 100 + i);
  const regId = `${spec.name}:${svc.port}`;
  const id = await engine.createContainer(spec);
  /** @type {import("./lib.js").Loop | undefined} */
  let probe;
  try {
    await sleep(300);
    const tag = `t${i}`;
    // Bounded by itself too: it stops after the longest a trial may take.
    probe = requestLoop(`${s.lbUrl}/`, {
      rate,
      tag,
      connections: "fresh",
      durationMs: 2 * TRIAL_TIMEOUT_MS + 5000,
    });
    const { records: sent } = probe;
    await sleep(100);

    // Join.
    const t0 = Date.now();
    await engine.startContainer(id);
    const tStarted = Date.now();
    const details = await engine.inspectContainer(id);
    const ip = details?.NetworkSettings.Networks[STACK]?.IPAddress;
    if (!ip) throw new Error(`${spec.name} has no address on network ${STACK}`);
    const address = `${ip}:${svc.port}`;
    const startedAt = Date.parse(details?.State.StartedAt ?? "");
    const answeredAt = firstAnswer(`http://${address}/`, t0 + TRIAL_TIMEOUT_MS);
    const servedAt = () => {
      const r = sent.find((r) => r.upstream === address && r.status === 200 && r.t >= t0);
      return r && Math.round(r.t + r.latencyMs);
    };
    await waitFor(
      async () =>
        routes.firstAfter(t0, (l) => l.includes(address)) &&
        consul.firstAfter(t0, (p) => p.has(address)) &&
        servedAt()
          ? true
          : undefined,
      `${spec.name} to join`,
      { timeoutMs: TRIAL_TIMEOUT_MS, intervalMs: 5 },
    );
    await sleep(300);

    // Leave.
    const tKill = Date.now();
    await engine.killContainer(id, "SIGKILL");
    const tKilled = Date.now();
    await waitFor(
      async () =>
        routes.firstAfter(tKill, (l) => !l.includes(address)) &&
        consul.firstAfter(tKill, (p) => !p.has(address))
          ? true
          : undefined,
      `the LB to let go of ${spec.name}`,
      { timeoutMs: TRIAL_TIMEOUT_MS, intervalMs: 5 },
    );
    // Requests still in flight, or sent just before the LB let go, get to finish.
    await sleep(1000);
    const records = await probe.stop();

    const reg = await registratorLog(STACK, t0);
    const registered = reg.find(
      (e) => e.msg === "registered" && e.id === regId && e.status === "passing" && e.t >= t0 - 1,
    )?.t;
    const deregistered = reg.find(
      (e) => e.msg === "deregistered" && e.id === regId && e.t >= tKill - 1,
    )?.t;

    // Every request nginx tried on the dead instance, from the LB's error log.
    const reached = new Set();
    const pattern = new RegExp(
      `request: "GET /\\?b=${tag}-(\\d+) [^"]*", upstream: "http://${address.replace(/\./g, "\\.")}/`,
    );
    for (const line of await containerLogs(`${STACK}-lb`, tKill)) {
      const m = pattern.exec(line);
      if (m) reached.add(Number(m[1]));
    }
    const reachedRecords = records.filter((r) => reached.has(r.seq) && r.t >= tKill - 1000);
    const lastReached = reachedRecords.length
      ? Math.round(Math.max(...reachedRecords.map((r) => r.t + r.latencyMs)))
      : undefined;

    const routedIn = routes.firstAfter(t0, (l) => l.includes(address));
    const routedOut = routes.firstAfter(tKill, (l) => !l.includes(address));
    const rel = (/** @type {number | undefined} */ t, /** @type {number} */ from) =>
      t === undefined || Number.isNaN(t) ? null : t - from;
    return {
      join: {
        startReturned: rel(tStarted, t0),
        startedAt: rel(startedAt, t0),
        answered: rel(await answeredAt, t0),
        registered: rel(registered, t0),
        consul: rel(consul.firstAfter(t0, (p) => p.has(address))?.t, t0),
        rendered: rel(routedIn ? Date.parse(routedIn.rendered) : undefined, t0),
        routed: rel(routedIn?.t, t0),
        served: rel(servedAt(), t0),
      },
      leave: {
        killReturned: rel(tKilled, tKill),
        deregistered: rel(deregistered, tKill),
        consulGone: rel(consul.firstAfter(tKill, (p) => !p.has(address))?.t, tKill),
        renderedGone: rel(routedOut ? Date.parse(routedOut.rendered) : undefined, tKill),
        routesGone: rel(routedOut?.t, tKill),
        // No request tried on it after the kill: requests stopped reaching it at once.
        lastReached: lastReached === undefined ? 0 : lastReached - tKill,
        reachedCount: reachedRecords.length,
      },
      probeRequests: records.length,
      probeFailed: records.filter((r) => r.failure !== undefined).length,
      slowAfterKill: records.filter((r) => r.t >= tKill && r.latencyMs >= 100).length,
      // What the registrator logged about this instance, in ms from docker start.
      consulListedAnyStatus: rel(consul.firstListing(t0, address)?.t, t0),
      registratorLog: reg
        .filter((e) => e.id === regId)
        .map((e) => `${e.t - t0} ${e.msg}${e.status ? ` ${e.status}` : ""}`),
    };
  } finally {
    await probe?.stop();
    await engine.removeContainer(id);
  }
}

/**
 * @param {Trial[]} results
 * @param {number} trials
 * @param {number} rate
 * @param {number} pollMs
 */
function summarise(results, trials, rate, pollMs) {
  const col = (/** @type {(t: Trial) => number | null | undefined} */ f) =>
    spread(
      results
        .map(f)
        .filter((x) => x !== null && x !== undefined)
        .map(Number),
      0,
    );

  /** @type {Array<[string, string, keyof typeof BOUNDS]>} */
  const joinStages = [
    ["docker start returned", "startReturned", "start"],
    ["the app answers (direct probe every 1 ms)", "answered", "answered"],
    ["registered passing (registrator log)", "registered", "registered"],
    ["passing in Consul (blocking query)", "consul", "consul"],
    ["config rendered (/routes `rendered`)", "rendered", "rendered"],
    ["LB routes it (/routes lists it)", "routed", "routed"],
    ["first request served by it", "served", "served"],
  ];
  /** @type {Record<string, import("./lib.js").Spread>} */
  const joinCum = {};
  /** @type {Record<string, import("./lib.js").Spread>} */
  const joinPart = {};
  const joinRows = [];
  let prev = "";
  for (const [label, key, bound] of joinStages) {
    const k = /** @type {string} */ (key);
    joinCum[k] = col((t) => t.join[k]);
    joinPart[k] = col((t) => {
      const a = t.join[k];
      const b = prev ? t.join[prev] : 0;
      return a === null || a === undefined || b === null || b === undefined ? null : a - b;
    });
    joinRows.push([
      label,
      fmtSpread(joinCum[k]),
      fmtSpread(/** @type {any} */ (joinPart[k])),
      BOUNDS[/** @type {keyof typeof BOUNDS} */ (bound)],
    ]);
    prev = k;
  }
  const startedAt = col((t) => t.join.startedAt);
  // The part of the join that is drcon's: from the app's first answer to the LB serving it.
  const fromAnswer = col((t) =>
    t.join.served === null || t.join.answered === null || t.join.answered === undefined
      ? null
      : Number(t.join.served) - t.join.answered,
  );
  printTable(
    `Join: ms from the \`docker start\` call, median (min–max) over ${results.length} trials`,
    ["stage", "since docker start", "this part", "bounded by"],
    [...joinRows, ["(container StartedAt, per Docker)", fmtSpread(startedAt), "", ""]],
  );
  printTable(
    "Join, drcon's part: ms from the app's first answer to the first request it serves through the LB",
    ["median (min–max)", "trials"],
    [[fmtSpread(fromAnswer), fromAnswer.n]],
  );

  const leaveStages = [
    ["docker kill returned", "killReturned"],
    ["deregistered (registrator log)", "deregistered"],
    ["gone from Consul (blocking query)", "consulGone"],
    ["config rendered without it", "renderedGone"],
    ["LB stops routing to it (/routes)", "routesGone"],
    ["last request nginx tried on it (LB error log)", "lastReached"],
  ];
  /** @type {Record<string, import("./lib.js").Spread>} */
  const leave = {};
  const leaveRows = [];
  for (const [label, key] of leaveStages) {
    const k = /** @type {string} */ (key);
    leave[k] = col((t) => t.leave[k]);
    leaveRows.push([label, fmtSpread(leave[k])]);
  }
  const reachedCount = col((t) => t.leave.reachedCount);
  const slow = col((t) => t.slowAfterKill);
  leaveRows.push(["requests nginx tried on it after the kill (count)", fmtSpread(reachedCount)]);
  leaveRows.push(["requests slower than 100 ms after the kill (count)", fmtSpread(slow)]);
  printTable(
    `Leave: ms from the SIGKILL call, median (min–max) over ${results.length} trials`,
    ["stage", "since SIGKILL"],
    leaveRows,
  );

  const probeRequests = results.reduce((a, t) => a + t.probeRequests, 0);
  const probeFailed = results.reduce((a, t) => a + t.probeFailed, 0);
  printTable(
    "Probe requests through the LB (all trials)",
    ["sent", "failed", "rate /s", "/routes poll ms"],
    [[probeRequests, probeFailed, rate, pollMs]],
  );

  // The slowest part of the join, for the verdict.
  const slowest = Object.entries(joinPart).sort(
    ([, a], [, b]) => (b.median ?? 0) - (a.median ?? 0),
  )[0];
  const slowestKey = /** @type {string} */ (slowest?.[0]);
  const stageBound = joinStages.find(([, k]) => k === slowestKey)?.[2] ?? "served";
  // The slowest of drcon's own parts (after the app answers), for the target on drcon's part.
  const after = joinStages.slice(joinStages.findIndex(([, k]) => k === "answered") + 1);
  const drconSlowest =
    after.sort(([, a], [, b]) => (joinPart[b]?.median ?? 0) - (joinPart[a]?.median ?? 0))[0]?.[2] ??
    "served";
  const leaveParts = {
    deregistered: "the registrator (Docker kill event to Consul deregister)",
    consulGone: "Consul (deregister to blocking-query answer)",
    renderedGone: BOUNDS.rendered,
    routesGone: BOUNDS.routed,
  };
  const leaveSlowest = Object.entries(leaveParts)
    .map(([k, why], idx, all) => {
      const prevKey = idx === 0 ? undefined : all[idx - 1]?.[0];
      const part = col((t) => {
        const a = t.leave[k];
        const b = prevKey ? t.leave[prevKey] : 0;
        return a === null || a === undefined || b === null || b === undefined ? null : a - b;
      });
      return { k, why, median: part.median ?? 0 };
    })
    .sort((a, b) => b.median - a.median)[0];

  return {
    figures: {
      trials: results.length,
      trialsAsked: trials,
      probeRatePerSec: rate,
      pollMs,
      joinMs: joinCum,
      joinPartsMs: joinPart,
      joinStartedAtMs: startedAt,
      joinFromAnswerMs: fromAnswer,
      leaveMs: leave,
      leaveRequestsTriedOnDead: reachedCount,
      leaveSlowRequests: slow,
      probe: { requests: probeRequests, failed: probeFailed },
      slowestJoinPart: slowestKey,
      perTrial: results.map((t) => ({
        join: t.join,
        leave: t.leave,
        consulListedAnyStatus: t.consulListedAnyStatus,
        registratorLog: t.registratorLog,
      })),
    },
    targets: [
      target(
        "join p50 (the app answers -> first request served by it through the LB)",
        fromAnswer.median,
        30,
        "ms",
        BOUNDS[/** @type {keyof typeof BOUNDS} */ (drconSlowest)],
      ),
      target(
        "join p50 (docker start -> first request served through the LB)",
        joinCum.served?.median ?? null,
        1000,
        "ms",
        BOUNDS[/** @type {keyof typeof BOUNDS} */ (stageBound)],
      ),
      target(
        "leave p50 (SIGKILL -> /routes no longer lists it)",
        leave.routesGone?.median ?? null,
        250,
        "ms",
        leaveSlowest?.why,
      ),
      target(
        "leave p50 (SIGKILL -> last request nginx tried on it)",
        leave.lastReached?.median ?? null,
        250,
        "ms",
        "nginx's own retry: proxy_connect_timeout 200ms, then max_fails/fail_timeout",
      ),
    ],
    notes: [
      criticalFirstNote(results),
      `the slowest part of the join is "${slowestKey}" (median ${slowest?.[1].median} ms), bounded by ${BOUNDS[/** @type {keyof typeof BOUNDS} */ (stageBound)]}`,
      `resolution: /routes is polled every ${pollMs} ms and requests go out every ${round(1000 / rate, 1)} ms; Consul and registrator times are exact to 1 ms`,
    ],
  };
}

/**
 * Trials where the registrator's first probe found the port closed: it registered the instance
 * critical and re-registered it passing once its probe answered; how long Consul took after that.
 * @param {Trial[]} results
 */
function criticalFirstNote(results) {
  const late = results.filter((t) => t.registratorLog.some((l) => l.endsWith(" critical")));
  if (late.length === 0) {
    return "in every trial the registrator's first probe passed: it registered the instance passing at once";
  }
  const gap = spread(
    late.map((t) => (t.join.consul ?? Number.NaN) - (t.join.registered ?? Number.NaN)),
    0,
  );
  const join = spread(
    late.map((t) => t.join.served ?? Number.NaN),
    0,
  );
  return `in ${late.length} of ${results.length} trials the registrator's first probe failed, so it registered the instance critical and re-registered it passing when its probe answered; Consul showed it passing only ${fmtSpread(gap)} ms after that re-registration (Consul keeps a re-registered check's status until the check itself runs, every 1 s), and those trials joined in ${fmtSpread(join)} ms`;
}

// ---------------------------------------------------------------------------------------------

/**
 * The join from `docker start` on, one bar: each stage's median part.
 * @param {Record<string, import("./lib.js").Spread>} parts
 */
function joinPicture(parts) {
  const labels = {
    startReturned: "docker start returns",
    answered: "the app answers",
    registered: "registrator registers it passing",
    consul: "Consul answers the blocking query",
    rendered: "consul-template renders",
    routed: "apply-render.sh: nginx -t, reload",
    served: "first request served by it",
  };
  return stagesSvg({
    title: "join: median ms of each stage, from the docker start call",
    parts: Object.entries(labels).map(([k, label]) => ({
      label,
      ms: Math.max(0, parts[k]?.median ?? 0),
    })),
  });
}

/**
 * When `url` first answers 200: polled every 1 ms on fresh connections, straight to the instance.
 * @param {string} url
 * @param {number} deadline epoch ms
 * @returns {Promise<number | undefined>}
 */
async function firstAnswer(url, deadline) {
  while (Date.now() < deadline) {
    try {
      if ((await get(url, undefined, { timeoutMs: 500 })).status === 200) return Date.now();
    } catch {
      // not listening yet
    }
    await sleep(1);
  }
  return undefined;
}

/**
 * Polls the LB's /routes and keeps every change: when it was first seen, its `rendered` time and
 * the simple service's addresses.
 * @param {string} lbUrl
 * @param {number} intervalMs
 */
function pollRoutes(lbUrl, intervalMs) {
  /** @type {Array<{ t: number, rendered: string, list: string[] }>} */
  const history = [];
  let stopped = false;
  let last = "";
  (async () => {
    while (!stopped) {
      try {
        const r = await fetchRoutes(lbUrl, 1000);
        const list = r.services.simple ?? [];
        const key = `${r.rendered} ${list.join(",")}`;
        if (key !== last) {
          last = key;
          history.push({ t: Date.now(), rendered: r.rendered, list });
        }
      } catch {
        // an LB mid-reload may not answer one poll
      }
      await sleep(intervalMs);
    }
  })();
  return {
    history,
    stop: () => {
      stopped = true;
    },
    /** The first state seen at or after `t` that satisfies `test`. */
    firstAfter: (/** @type {number} */ t, /** @type {(l: string[]) => boolean} */ test) =>
      history.find((h) => h.t >= t && test(h.list)) ??
      // the state current at `t` already satisfies it
      undefined,
  };
}

/**
 * Follows the passing instances of simple with Consul blocking queries (answers come as soon as
 * Consul's state changes), keeping when each change arrived.
 * @param {import("../dist/consul/client.js").ConsulApi} api
 */
function followConsul(api) {
  /** @type {Array<{ t: number, passing: Set<string>, all: Set<string> }>} */
  const history = [];
  const stop = api.watchHealth(
    "simple",
    (/** @type {Array<{ status: string, address: string, port: number }>} */ instances) => {
      history.push({
        t: Date.now(),
        passing: new Set(
          instances.filter((i) => i.status === "passing").map((i) => `${i.address}:${i.port}`),
        ),
        all: new Set(instances.map((i) => `${i.address}:${i.port}`)),
      });
    },
    () => {},
  );
  return {
    history,
    stop,
    firstAfter: (/** @type {number} */ t, /** @type {(p: Set<string>) => boolean} */ test) =>
      history.find((h) => h.t >= t && test(h.passing)),
    /** The first state at or after `t` that lists the address at all (any check status). */
    firstListing: (/** @type {number} */ t, /** @type {string} */ address) =>
      history.find((h) => h.t >= t && h.all.has(address)),
  };
}
