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

/**
 * The hot path of one dialect (sqlite/queue.ts, postgres/queue.ts): claims, and result
 * batches written in one transaction that return the ids whose lease still held.
 */
export interface DeliveryQueue {
  claim(request: ClaimRequest): Promise<ClaimedDelivery[]>;
  record(batch: ResultBatch): Promise<number[]>;
  close(): Promise<void>;
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

/**
 * Per connection, how many deliveries of the batch finished and how (applied updates only),
 * in connection order: the hourly counters (connection-outcomes.ts) take one upsert each,
 * and two workers' batches lock the same rows in the same order.
 */
export function connectionOutcomeCounts(batch: ResultBatch, applied: Set<number>): Array<{ connectionId: number; succeeded: number; failed: number }> {
  const counts = new Map<number, { connectionId: number; succeeded: number; failed: number }>();
  for (const u of batch.updates) {
    if (!applied.has(u.id) || (u.status !== 'succeeded' && u.status !== 'failed')) continue;
    let c = counts.get(u.connectionId);
    if (!c) counts.set(u.connectionId, (c = { connectionId: u.connectionId, succeeded: 0, failed: 0 }));
    if (u.status === 'succeeded') c.succeeded++;
    else c.failed++;
  }
  return [...counts.values()].sort((a, b) => a.connectionId - b.connectionId);
}

/** What one batch's attempts say about a connection's health (applied attempts only, in order). */
export interface HealthTally {
  connectionId: number;
  /** Some attempt of the batch succeeded: the streak restarts after the last success. */
  succeeded: boolean;
  /** Failed attempts after the last success (or all of them, with none). */
  failures: number;
  firstFailureAt: number | null;
  /** Deliveries of the batch that ended `failed` after an attempt. */
  exhausted: number;
  lastStatus: number | null;
  lastError: string | null;
}

/**
 * Per connection, the health counters a batch adds. Only attempts whose lease held count (a
 * stale worker's result is somebody else's to tell); unattempted results (parked, released,
 * unsendable) say nothing about the endpoint.
 */
export function healthTallies(batch: ResultBatch, applied: Set<number>): HealthTally[] {
  const tallies = new Map<number, HealthTally>();
  for (const u of batch.updates) {
    if (!u.attempted || !applied.has(u.id)) continue;
    let t = tallies.get(u.connectionId);
    if (!t) {
      t = { connectionId: u.connectionId, succeeded: false, failures: 0, firstFailureAt: null, exhausted: 0, lastStatus: null, lastError: null };
      tallies.set(u.connectionId, t);
    }
    t.lastStatus = u.lastStatus;
    t.lastError = u.lastError;
    if (u.status === 'succeeded') {
      t.succeeded = true;
      t.failures = 0;
      t.firstFailureAt = null;
      continue;
    }
    t.failures++;
    t.firstFailureAt ??= batch.now;
    if (u.status === 'failed') t.exhausted++;
  }
  // Fixed order: two workers' batches touching the same connections lock them alike (no deadlock).
  return [...tallies.values()].sort((a, b) => a.connectionId - b.connectionId);
}

