// Keeps a RoutingModel current: Consul's side from blocking queries (one watch per service, no
// tight polling), the LB's side from its /routes endpoint every `pollMs` (a cheap local call:
// it is how a person sees the moment nginx has reloaded).
import { isKind } from "../base/errors.js";
import { waitFor } from "../base/wait.js";
import type { ConsulApi } from "../consul/client.js";
import { DRCON_TAG, type LbRoutes } from "../contract.js";
import { fetchRoutes } from "../stack/lb-routes.js";
import { RoutingModel, type WatchEvent } from "./routing-model.js";

export type ConsulWatcher = Pick<ConsulApi, "watchHealth" | "servicesTagged">;

export interface TrackerOptions {
  /** How often the LB's routes are read. */
  pollMs?: number;
  /** How often Consul's catalog is asked for services that appeared (tag `drcon`). */
  discoverMs?: number;
  now?: () => number;
  fetch?: (lbUrl: string) => Promise<LbRoutes>;
}

export class RoutingTracker {
  readonly model: RoutingModel;
  private readonly stops = new Map<string, () => void>();
  private pollTimer: NodeJS.Timeout | undefined;
  private discoverTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly now: () => number;
  private readonly fetch: (lbUrl: string) => Promise<LbRoutes>;

  constructor(
    private readonly consul: ConsulWatcher,
    private readonly lbUrl: string,
    services: string[],
    /** Called with each batch of events (possibly empty after the first answers). */
    private readonly onUpdate: (events: WatchEvent[]) => void,
    private readonly options: TrackerOptions = {},
  ) {
    this.model = new RoutingModel(services);
    this.now = options.now ?? Date.now;
    this.fetch = options.fetch ?? ((url) => fetchRoutes(url, 1000));
  }

  /** Starts watching; resolves once Consul and the LB first answered, or after `readyMs`. */
  async start(readyMs = 3000): Promise<void> {
    for (const name of this.model.serviceNames()) this.watch(name);
    void this.poll();
    void this.discover();
    // Not being ready in time is no error: the view starts with what it has.
    await waitFor(async () => this.model.ready() || this.stopped || undefined, "routing", {
      timeoutMs: readyMs,
      intervalMs: 20,
    }).catch((err: unknown) => {
      if (!isKind(err, "timeout")) throw err;
    });
  }

  stop(): void {
    this.stopped = true;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    if (this.discoverTimer) clearTimeout(this.discoverTimer);
    for (const stop of this.stops.values()) stop();
    this.stops.clear();
  }

  private watch(service: string): void {
    if (this.stops.has(service) || this.stopped) return;
    const stop = this.consul.watchHealth(
      service,
      (list) => this.onUpdate(this.model.applyHealth(service, list, this.now())),
      (err) => this.onUpdate(this.model.consulError(err.message, this.now())),
    );
    this.stops.set(service, stop);
  }

  private watchNewServices(): void {
    for (const name of this.model.serviceNames()) this.watch(name);
  }

  private async poll(): Promise<void> {
    if (this.stopped) return;
    let events: WatchEvent[];
    try {
      events = this.model.applyRoutes(await this.fetch(this.lbUrl), this.now());
    } catch (err) {
      events = this.model.lbError((err as Error).message, this.now());
    }
    if (this.stopped) return;
    this.watchNewServices();
    this.onUpdate(events);
    this.pollTimer = setTimeout(() => void this.poll(), this.options.pollMs ?? 250);
  }

  private async discover(): Promise<void> {
    if (this.stopped) return;
    try {
      const names = await this.consul.servicesTagged(DRCON_TAG);
      if (this.stopped) return;
      for (const name of names) this.watch(name);
    } catch {
      // The health watches report Consul being away; nothing to add here.
    }
    this.discoverTimer = setTimeout(() => void this.discover(), this.options.discoverMs ?? 10_000);
  }
}
