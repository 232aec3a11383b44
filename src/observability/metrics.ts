import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface QueueProbe {
  queueStats(now: number): Promise<{ pending: number; oldestDueMs: number }>;
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

  constructor(probe: QueueProbe) {
    collectDefaultMetrics({ register: this.registry, prefix: 'herald_' });
    // prom-client collects all metrics at once, so each gauge reads its own value.
    new Gauge({
      name: 'herald_queue_depth',
      help: 'Deliveries pending (due, backing off, or in flight).',
      registers: [this.registry],
      async collect() {
        this.set((await probe.queueStats(Date.now())).pending);
      },
    });
    new Gauge({
      name: 'herald_oldest_pending_age_seconds',
      help: 'How long the most overdue pending delivery has been due.',
      registers: [this.registry],
      async collect() {
        this.set((await probe.queueStats(Date.now())).oldestDueMs / 1000);
      },
    });
  }
}
