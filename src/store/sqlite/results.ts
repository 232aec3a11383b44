import { hourOf } from '../connection-outcomes.js';
import { OUTCOME_SHARD, minuteOf } from '../delivery-outcomes.js';
import {
  type DeliveryUpdate,
  type HealthTally,
  type ResultBatch,
  connectionOutcomeCounts,
  finalCounts,
  healthTallies,
  outcomeCounts,
} from '../queue.js';
import type { RawSqlite } from './raw.js';
import { insertAttempts } from './rows.js';

/**
 * A results batch on SQLite (postgres/results.ts is PostgreSQL's): synchronous prepared
 * statements, run on the queue thread (queue-thread.ts) or, for an in-memory database, inline.
 */

const APPLY = `update deliveries set status = ?, attempt_count = attempt_count + ?, next_attempt_at = ?,
  last_status = ?, last_error = ?, updated_at = ?, leased = 0 where id = ? and next_attempt_at = ? and status = 'pending'`;

const RELEASE = `update deliveries set next_attempt_at = ?, leased = 0 where id = ? and next_attempt_at = ? and status = 'pending'`;

const DEACTIVATE = `update subscriptions set is_active = 0, status_reason = ?, updated_at = ?
  where connection_id = ? and is_active = 1`;

const ADD_STATS = `update connections set delivered_count = delivered_count + ?, failed_count = failed_count + ?,
  last_delivered_at = coalesce(?, last_delivered_at) where id = ?`;

/** The upsert of one result batch's outcomes (this process's shard of the minute). */
export const ADD_OUTCOMES = `insert into delivery_outcomes (minute, shard, succeeded, failed) values (?, ?, ?, ?)
  on conflict (minute, shard) do update set succeeded = delivery_outcomes.succeeded + excluded.succeeded,
    failed = delivery_outcomes.failed + excluded.failed`;

/**
 * One result batch's finished deliveries of one connection, added to its hour. Parameters: connection id, hour, succeeded,
 * failed, connection id. A connection deleted while its requests were out adds nothing: a
 * plain insert would fail its foreign key and with it the whole batch.
 */
export const ADD_CONNECTION_OUTCOMES = `insert into connection_outcomes (connection_id, hour, succeeded, failed)
  select ?, ?, ?, ? where exists (select 1 from connections where id = ?)
  on conflict (connection_id, hour) do update set succeeded = connection_outcomes.succeeded + excluded.succeeded,
    failed = connection_outcomes.failed + excluded.failed`;

export function connectionOutcomeParams(connectionId: number, now: number, succeeded: number, failed: number): unknown[] {
  return [connectionId, hourOf(now), succeeded, failed, connectionId];
}

/**
 * The statement applying one tally (positional parameters in this order: see healthParams). A success restarts the streak; any attempt clears the probe marker
 * (the probe went out; the monitor picks the next one).
 */
export const APPLY_HEALTH_SQL = `update connections set
  consecutive_failures = case when ? = 1 then ? else consecutive_failures + ? end,
  failing_since = case when ? = 1 then ? else coalesce(failing_since, ?) end,
  last_success_at = case when ? = 1 then ? else last_success_at end,
  last_failure_at = case when ? > 0 then ? else last_failure_at end,
  last_attempt_status = ?, last_attempt_error = ?,
  exhausted_count = exhausted_count + ?,
  probe_delivery_id = null
  where id = ?`;

export function healthParams(t: HealthTally, now: number): unknown[] {
  const ok = t.succeeded ? 1 : 0;
  return [ok, t.failures, t.failures, ok, t.firstFailureAt, t.firstFailureAt, ok, now, t.failures, now, t.lastStatus, t.lastError, t.exhausted, t.connectionId];
}

/** Applies updates whose lease still holds; returns the ids applied. */
export function applyUpdates(raw: RawSqlite, updates: readonly DeliveryUpdate[], now: number): number[] {
  const update = raw.statement(APPLY);
  const applied: number[] = [];
  for (const u of updates) {
    const { changes } = update.run(
      u.status,
      u.attempted ? 1 : 0,
      u.nextAttemptAt,
      u.lastStatus,
      u.lastError,
      now,
      u.id,
      u.lease,
    );
    if (changes === 1) applied.push(u.id);
  }
  return applied;
}

export function releaseLeases(raw: RawSqlite, released: ResultBatch['released'], now: number): void {
  const release = raw.statement(RELEASE);
  for (const r of released) release.run(now, r.id, r.lease);
}

/**
 * A results batch: attempts, delivery states, leases given back, 410 deactivations, the
 * SendKit counters of final outcomes that applied, the minute's outcome totals, each
 * connection's hourly outcomes and the connections' health counters. Run it in a transaction.
 */
export function recordResults(raw: RawSqlite, batch: ResultBatch): number[] {
  insertAttempts(raw, batch.attempts);
  const applied = applyUpdates(raw, batch.updates, batch.now);
  releaseLeases(raw, batch.released, batch.now);
  for (const d of batch.deactivate) raw.statement(DEACTIVATE).run(d.reason, batch.now, d.connectionId);
  const appliedSet = new Set(applied);
  for (const [connectionId, s] of finalCounts(batch, appliedSet)) {
    raw.statement(ADD_STATS).run(s.delivered, s.failed, s.delivered > 0 ? batch.now : null, connectionId);
  }
  const outcomes = outcomeCounts(batch, appliedSet);
  if (outcomes.succeeded + outcomes.failed > 0) {
    raw.statement(ADD_OUTCOMES).run(minuteOf(batch.now), OUTCOME_SHARD, outcomes.succeeded, outcomes.failed);
  }
  for (const c of connectionOutcomeCounts(batch, appliedSet)) {
    raw.statement(ADD_CONNECTION_OUTCOMES).run(...connectionOutcomeParams(c.connectionId, batch.now, c.succeeded, c.failed));
  }
  for (const t of healthTallies(batch, appliedSet)) raw.statement(APPLY_HEALTH_SQL).run(...healthParams(t, batch.now));
  return applied;
}
