import { HOUR_MS, hourOf } from '../store/connection-outcomes.js';
import type { Store } from '../store/store.js';
import { notFound } from './errors.js';
import { isoSeconds } from './time.js';

/** The activity chart's ranges: how far back, and how wide each bar is. */
export const ACTIVITY_RANGES = {
  '24h': { spanMs: 24 * HOUR_MS, bucketMs: HOUR_MS },
  '7d': { spanMs: 7 * 24 * HOUR_MS, bucketMs: 6 * HOUR_MS },
} as const;
export type ActivityRange = keyof typeof ACTIVITY_RANGES;

export interface ActivityBucket {
  start: string;
  succeeded: number;
  failed: number;
}

export interface ConnectionTotals {
  connection_id: number;
  succeeded: number;
  failed: number;
  /** Share of finished deliveries that succeeded, or null with none finished. */
  success_rate: number | null;
}

/**
 * Deliveries finished per connection over time, from the hourly counters each result batch
 * adds (store/connection-outcomes.ts): a chart or the list's 24 h figures read at most 168
 * rows per connection from a primary-key range, never the attempt log.
 */
export class ConnectionActivityService {
  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {}

  async series(organizationId: number, connectionId: number, range: ActivityRange): Promise<{ buckets: ActivityBucket[]; succeeded: number; failed: number }> {
    if (!(await this.store.connections.get(organizationId, connectionId))) throw notFound();
    const { spanMs, bucketMs } = ACTIVITY_RANGES[range];
    // The current hour is the last bar; the first bar starts (span - 1 h) earlier, aligned to its width.
    const end = hourOf(this.now()) + HOUR_MS;
    const first = Math.floor((end - spanMs) / bucketMs) * bucketMs;
    const count = Math.ceil((end - first) / bucketMs);
    const buckets = Array.from({ length: count }, (_, i) => ({ startMs: first + i * bucketMs, succeeded: 0, failed: 0 }));
    let succeeded = 0;
    let failed = 0;
    for (const h of await this.store.connectionOutcomes.hours(connectionId, first)) {
      const bucket = buckets[Math.floor((h.hour - first) / bucketMs)];
      if (!bucket) continue;
      bucket.succeeded += h.succeeded;
      bucket.failed += h.failed;
      succeeded += h.succeeded;
      failed += h.failed;
    }
    return { buckets: buckets.map((b) => ({ start: isoSeconds(b.startMs), succeeded: b.succeeded, failed: b.failed })), succeeded, failed };
  }

  /** The last 24 hours of every connection of the organization (those without any are left out). */
  async last24h(organizationId: number): Promise<ConnectionTotals[]> {
    const totals = await this.store.connectionOutcomes.totals(organizationId, this.now() - 24 * HOUR_MS + HOUR_MS);
    return [...totals].map(([connection_id, t]) => ({
      connection_id,
      succeeded: t.succeeded,
      failed: t.failed,
      success_rate: t.succeeded + t.failed > 0 ? t.succeeded / (t.succeeded + t.failed) : null,
    }));
  }
}
