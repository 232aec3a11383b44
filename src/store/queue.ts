import type { DeliveryRow, DeliveryStatus, NewAttempt } from './schema.js';

/**
 * The delivery queue's vocabulary, the same on both dialects: what a claim asks for and
 * returns, and what one batch of results writes (store.ts `recordResults`).
 */

export type ClaimedDelivery = Pick<
  DeliveryRow,
  'id' | 'organization_id' | 'event_id' | 'subscription_id' | 'connection_id' | 'attempt_count' | 'next_attempt_at'
>;

/** What one claimed delivery became, as the results writer applies it. */
export interface DeliveryUpdate {
  id: number;
  /** The lease this worker claimed with; a stale worker's result no longer matches. */
  lease: number;
  /** `pending` again (a retry), finished, or `parked` behind a paused subscription. */
  status: DeliveryStatus;
  nextAttemptAt: number;
  lastStatus: number | null;
  lastError: string | null;
  /** False when no request was made (parked, or the delivery could not be sent at all). */
  attempted: boolean;
}

export interface ClaimRequest {
  /** The claiming process's clock; PostgreSQL uses the database's own clock instead. */
  now: number;
  leaseMs: number;
  limit: number;
  perConnection: number;
  /** How many of the earliest due rows to look at. */
  scan: number;
  exclude: readonly number[];
}

/** One batch of results, written in one transaction. */
export interface ResultBatch {
  now: number;
  /** Inserted only where their delivery (and subscription) still exist: a row that is gone drops alone. */
  attempts: NewAttempt[];
  updates: Array<DeliveryUpdate & { connectionId: number; tracksStats: boolean }>;
  released: Array<{ id: number; lease: number }>;
  deactivate: Array<{ connectionId: number; reason: string }>;
}

/** Per connection that keeps counters: how many deliveries of the batch finished, and how. */
export function finalCounts(batch: ResultBatch, applied: Set<number>): Map<number, { delivered: number; failed: number }> {
  const counts = new Map<number, { delivered: number; failed: number }>();
  for (const u of batch.updates) {
    if (!u.tracksStats || !applied.has(u.id)) continue;
    if (u.status !== 'succeeded' && u.status !== 'failed') continue;
    const c = counts.get(u.connectionId) ?? { delivered: 0, failed: 0 };
    if (u.status === 'succeeded') c.delivered++;
    else c.failed++;
    counts.set(u.connectionId, c);
  }
  return counts;
}

/** How many deliveries of the batch finished, and how (only updates whose lease still held). */
export function outcomeCounts(batch: ResultBatch, applied: Set<number>): { succeeded: number; failed: number } {
  let succeeded = 0;
  let failed = 0;
  for (const u of batch.updates) {
    if (!applied.has(u.id)) continue;
    if (u.status === 'succeeded') succeeded++;
    else if (u.status === 'failed') failed++;
  }
  return { succeeded, failed };
}
