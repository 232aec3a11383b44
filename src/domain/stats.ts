import { QUEUE_DEPTH_COUNT_CAP } from '../observability/metrics.js';
import type { Store } from '../store/store.js';
import { isoSeconds } from './time.js';

const HOUR_MS = 3_600_000;

export interface Stats {
  organizations: number;
  connections: number;
  /** Counted up to QUEUE_DEPTH_COUNT_CAP ("at least" at that value). */
  pending_deliveries: number;
  parked_deliveries: number;
  /** How long the most overdue pending delivery has been due (0 when none is). */
  oldest_pending_age_seconds: number;
  /** Finished in the last hour, counted per minute (the current minute included). */
  succeeded_last_hour: number;
  failed_last_hour: number;
  generated_at: string;
}

/** `GET /admin/v1/stats` and `herald status`: a few indexed statements, none proportional to the history. */
export async function readStats(store: Store, now = Date.now()): Promise<Stats> {
  const [organizations, connections, queue, parked, lastHour] = await Promise.all([
    store.organizations.count(),
    store.connections.countAll(),
    store.deliveries.queueStats(now, QUEUE_DEPTH_COUNT_CAP),
    store.deliveries.countParked(QUEUE_DEPTH_COUNT_CAP),
    store.deliveryOutcomes.since(now - HOUR_MS + 60_000),
  ]);
  return {
    organizations,
    connections,
    pending_deliveries: queue.pending,
    parked_deliveries: parked,
    oldest_pending_age_seconds: Math.round(queue.oldestDueMs / 100) / 10,
    succeeded_last_hour: lastHour.succeeded,
    failed_last_hour: lastHour.failed,
    generated_at: isoSeconds(now),
  };
}
