import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface QueueProbe {
  /** One statement: pending deliveries (counted up to `countCap`) and the oldest one's lateness. */
  queueStats(now: number, countCap: number): Promise<{ pending: number; oldestDueMs: number }>;
}

/**
 * `herald_queue_depth` counts pending deliveries up to this many: counting a backlog of
 * millions row by row costs hundreds of milliseconds of database time per refresh, and the
 * gauge's use (alerting on a growing queue) needs no exact figure past a million. A value
 * equal to it means "at least".
 */
export const QUEUE_DEPTH_COUNT_CAP = 1_000_000;

/** Connections by endpoint health, for `herald_connections`. */
export interface HealthProbe {
  countByHealth(): Promise<Record<string, number>>;
}

export interface MetricsOptions {
  /** How often the queue gauges are recomputed (HERALD_METRICS_REFRESH_MS). */
  refreshMs: number;
  logger?: Logger;
  health?: HealthProbe;
}

export class Metrics {
  readonly registry = new Registry();
  readonly eventsAccepted = new Counter({
    name: 'herald_events_accepted_total',
    help: 'Events accepted by ingestion.',
    labelNames: ['event_type'] as const,
    registers: [this.registry],
  });
  readonly deliveries = new Counter({
    name: 'herald_deliveries_total',
    help: 'Delivery attempts by outcome (succeeded, retrying, failed).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly attemptSeconds = new Histogram({
    name: 'herald_attempt_duration_seconds',
    help: 'Duration of one delivery attempt.',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly rowsRemoved = new Counter({
    name: 'herald_rows_removed_total',
    help: 'Rows removed by housekeeping, by table and reason (retention, expired, organization_deleted).',
    labelNames: ['table', 'reason'] as const,
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'herald_queue_depth',
    help: `Deliveries pending (due, backing off, or in flight), counted up to ${QUEUE_DEPTH_COUNT_CAP} ("at least" at that value); recomputed every HERALD_METRICS_REFRESH_MS.`,
    registers: [this.registry],
  });
  readonly oldestPendingAge = new Gauge({
    name: 'herald_oldest_pending_age_seconds',
    help: 'How long the most overdue pending delivery has been due; recomputed every HERALD_METRICS_REFRESH_MS.',
    registers: [this.registry],
  });
  readonly connections = new Gauge({
    name: 'herald_connections',
    help: 'Connections by endpoint health (active, failing: circuit open, disabled); recomputed every HERALD_METRICS_REFRESH_MS.',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });
  readonly #timer: NodeJS.Timeout;
  #refreshing: Promise<void> | undefined;

  /**
   * The queue gauges are computed on a timer, off the request path: a scrape (unauthenticated
   * unless HERALD_METRICS_TOKEN is set) reads the last values and costs the database nothing.
   * The first refresh runs at once.
   */
  constructor(
    private readonly probe: QueueProbe,
    private readonly options: MetricsOptions,
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: 'herald_' });
    this.#timer = setInterval(() => void this.refresh(), options.refreshMs);
    this.#timer.unref();
    void this.refresh();
  }

  /** Recomputes the queue gauges with one query; a refresh still running is joined, not repeated. */
  refresh(): Promise<void> {
    this.#refreshing ??= (async () => {
      try {
        const stats = await this.probe.queueStats(Date.now(), QUEUE_DEPTH_COUNT_CAP);
        this.queueDepth.set(stats.pending);
        this.oldestPendingAge.set(stats.oldestDueMs / 1000);
        if (this.options.health) {
          for (const [status, n] of Object.entries(await this.options.health.countByHealth())) this.connections.set({ status }, n);
        }
      } catch (error) {
        // The gauges keep their last values; the next refresh tries again.
        this.options.logger?.warn({ err: error }, 'queue metrics refresh failed');
      } finally {
        this.#refreshing = undefined;
      }
    })();
    return this.#refreshing;
  }

  /** Stops the refresh timer and waits for a refresh in progress (before the database closes). */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#refreshing;
  }
}
