import type { Insertable } from 'kysely';
import type { RawSqlite } from './raw-sqlite.js';
import { ADD_CONNECTION_OUTCOMES, connectionOutcomeParams } from './connection-outcomes.js';
import { ADD_OUTCOMES, OUTCOME_SHARD, minuteOf } from './delivery-outcomes.js';
import {
  connectionOutcomeCounts,
  outcomeCounts,
  APPLY_HEALTH_SQL,
  type ClaimRequest,
  type ClaimedDelivery,
  type DeliveryUpdate,
  type ResultBatch,
  finalCounts,
  healthParams,
  healthTallies,
} from './queue.js';
import type { DeliveriesTable, NewAttempt } from './schema.js';

/**
 * The delivery queue's hot statements on SQLite, as plain synchronous functions over a
 * prepared-statement handle. Claims and result batches run on the queue thread (see
 * sqlite-queue-thread.ts) or, for an in-memory database, inline; the fan-out and attempt
 * inserts also serve the main connection (inside ingest's transaction, and for test
 * attempts). PostgreSQL does the same through Kysely (deliveries.ts, store.ts).
 */

const CLAIMED_COLUMNS = 'id, organization_id, event_id, subscription_id, connection_id, attempt_count, next_attempt_at';

/** Candidates come from the due index alone (see migration 0002)… */
const DUE = `select id, connection_id from deliveries
  where status = 'pending' and next_attempt_at <= ? and connection_id not in (select value from json_each(?))
  order by next_attempt_at, id limit ?`;

/** …and the picked ones are leased in one statement, each only if still due (another worker may have it). */
const LEASE = `update deliveries set next_attempt_at = ?, leased = 1
  where id in (select value from json_each(?)) and status = 'pending' and next_attempt_at <= ?
  returning ${CLAIMED_COLUMNS}`;

const INSERT_DELIVERY = `insert into deliveries (organization_id, event_id, subscription_id, connection_id, status,
  attempt_count, next_attempt_at, last_status, last_error, created_at, updated_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

const APPLY = `update deliveries set status = ?, attempt_count = attempt_count + ?, next_attempt_at = ?,
  last_status = ?, last_error = ?, updated_at = ?, leased = 0 where id = ? and next_attempt_at = ? and status = 'pending'`;

const RELEASE = `update deliveries set next_attempt_at = ?, leased = 0 where id = ? and next_attempt_at = ? and status = 'pending'`;

/**
 * An attempt whose delivery or subscription was deleted while its request was out is dropped
 * alone: inserted unconditionally, its foreign key would fail and roll back the whole batch
 * (every tenant's results, sent again when their leases end).
 */
const INSERT_ATTEMPT = `insert into attempts (organization_id, delivery_id, subscription_id, connection_id, number,
  is_test, started_at, duration_ms, url, request_headers, response_status, response_body, error)
  select ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
  where exists (select 1 from subscriptions where id = ?)
    and (? is null or exists (select 1 from deliveries where id = ?))`;

const DEACTIVATE = `update subscriptions set is_active = 0, status_reason = ?, updated_at = ?
  where connection_id = ? and is_active = 1`;

const ADD_STATS = `update connections set delivered_count = delivered_count + ?, failed_count = failed_count + ?,
  last_delivered_at = coalesce(?, last_delivered_at) where id = ?`;

/**
 * Leases up to `limit` due deliveries, at most `perConnection` of any one connection.
 * Spreading the batch over connections in JS costs ~5 µs per row; the window function
 * that does it on PostgreSQL costs SQLite ~15–20 µs per claimed row. Run it in a transaction.
 */
export function claimDue(raw: RawSqlite, r: ClaimRequest): ClaimedDelivery[] {
  const due = raw.statement(DUE).raw(true).all(r.now, JSON.stringify(r.exclude), r.scan) as [number, number][];
  const perConnection = new Map<number, number>();
  const picked: number[] = [];
  for (const [id, connectionId] of due) {
    const count = perConnection.get(connectionId) ?? 0;
    if (count >= r.perConnection) continue;
    perConnection.set(connectionId, count + 1);
    picked.push(id);
    if (picked.length >= r.limit) break;
  }
  if (picked.length === 0) return [];
  const claimed = raw.statement(LEASE).all(r.now + r.leaseMs, JSON.stringify(picked), r.now) as ClaimedDelivery[];
  // RETURNING comes in no particular order: back to arrival order.
  return claimed.sort((a, b) => a.id - b.id);
}

/** Fan-out rows: one prepared single-row insert each (a multi-row INSERT binds 11 values per row anew). */
export function insertDeliveries(raw: RawSqlite, rows: readonly Insertable<DeliveriesTable>[]): void {
  const insert = raw.statement(INSERT_DELIVERY);
  for (const r of rows) {
    insert.run(
      r.organization_id,
      r.event_id,
      r.subscription_id,
      r.connection_id,
      r.status,
      r.attempt_count,
      r.next_attempt_at,
      r.last_status ?? null,
      r.last_error ?? null,
      r.created_at,
      r.updated_at,
    );
  }
}

export function insertAttempts(raw: RawSqlite, rows: readonly NewAttempt[]): void {
  const insert = raw.statement(INSERT_ATTEMPT);
  for (const r of rows) {
    insert.run(
      r.organization_id,
      r.delivery_id ?? null,
      r.subscription_id,
      r.connection_id,
      r.number,
      r.is_test,
      r.started_at,
      r.duration_ms,
      r.url,
      r.request_headers,
      r.response_status ?? null,
      r.response_body ?? null,
      r.error ?? null,
      r.subscription_id,
      r.delivery_id ?? null,
      r.delivery_id ?? null,
    );
  }
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
