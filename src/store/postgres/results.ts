import { hourOf } from '../connection-outcomes.js';
import { OUTCOME_SHARD, minuteOf } from '../delivery-outcomes.js';
import {
  type ResultBatch,
  connectionOutcomeCounts,
  finalCounts,
  healthTallies,
  outcomeCounts,
} from '../queue.js';
import { prepared } from './prepared.js';
import { insertAttempts } from './rows.js';
import { type Sql, column } from './sql.js';

/**
 * A results batch on PostgreSQL (sqlite/results.ts is SQLite's): a fixed number of named
 * statements whatever the batch holds — every delivery's new state in one UPDATE over
 * unnest'ed arrays, every connection's counters in one more — instead of one statement per
 * delivery or connection.
 *
 * Two parts. `recordDeliveries` (attempts, delivery states, released leases, 410
 * deactivations) runs in one transaction and touches only rows of this worker's own claims.
 * `addCounters` (SendKit's counters, the minute's and each connection's hourly outcomes, the
 * health counters) runs after the commit, each statement on its own: those rows are shared by
 * every worker, and a worker holding their locks in an open transaction — stopped by SIGSTOP
 * or a long GC between two statements — would stall every other worker's results for every
 * tenant (the SIGSTOP fault test showed it). A statement on its own holds its locks only
 * while the server runs it. The counters are advisory: a crash between the two parts loses
 * one batch's increments, never a delivery's state.
 */

/** Each update applies only while its lease holds (a stale worker's result matches nothing). */
export const APPLY = prepared(
  'apply_results',
  `update deliveries d set status = v.status, attempt_count = d.attempt_count + v.attempted,
      next_attempt_at = v.next_attempt_at, last_status = v.last_status, last_error = v.last_error,
      updated_at = $8, leased = 0
    from unnest($1::bigint[], $2::bigint[], $3::text[], $4::integer[], $5::bigint[], $6::integer[], $7::text[])
      as v(id, lease, status, attempted, next_attempt_at, last_status, last_error)
    where d.id = v.id and d.next_attempt_at = v.lease and d.status = 'pending'
    returning d.id`,
);

export const RELEASE = prepared(
  'release_leases',
  `update deliveries d set next_attempt_at = $3, leased = 0
    from unnest($1::bigint[], $2::bigint[]) as v(id, lease)
    where d.id = v.id and d.next_attempt_at = v.lease and d.status = 'pending'`,
);

export const DEACTIVATE = prepared(
  'deactivate_subscriptions',
  `update subscriptions set is_active = 0, status_reason = $2, updated_at = $3 where connection_id = $1 and is_active = 1`,
);

/** SendKit's per-connection counters of final outcomes. */
export const ADD_STATS = prepared(
  'add_connection_stats',
  `update connections c set delivered_count = c.delivered_count + v.delivered, failed_count = c.failed_count + v.failed,
      last_delivered_at = case when v.delivered > 0 then $4 else c.last_delivered_at end
    from unnest($1::bigint[], $2::bigint[], $3::bigint[]) as v(id, delivered, failed)
    where c.id = v.id`,
);

export const ADD_OUTCOMES = prepared(
  'add_outcomes',
  `insert into delivery_outcomes (minute, shard, succeeded, failed) values ($1, $2, $3, $4)
    on conflict (minute, shard) do update set succeeded = delivery_outcomes.succeeded + excluded.succeeded,
      failed = delivery_outcomes.failed + excluded.failed`,
);

/** The hour's outcomes per connection; a connection deleted meanwhile adds nothing (its foreign key). */
export const ADD_CONNECTION_OUTCOMES = prepared(
  'add_connection_outcomes',
  `insert into connection_outcomes (connection_id, hour, succeeded, failed)
    select v.id, $2, v.succeeded, v.failed from unnest($1::bigint[], $3::bigint[], $4::bigint[]) as v(id, succeeded, failed)
    where exists (select 1 from connections c where c.id = v.id)
    on conflict (connection_id, hour) do update set succeeded = connection_outcomes.succeeded + excluded.succeeded,
      failed = connection_outcomes.failed + excluded.failed`,
);

/** queue.ts's APPLY_HEALTH_SQL for every connection of the batch at once (its meaning: see there). */
export const APPLY_HEALTH = prepared(
  'apply_health',
  `update connections c set
      consecutive_failures = case when v.ok = 1 then v.failures else c.consecutive_failures + v.failures end,
      failing_since = case when v.ok = 1 then v.first_failure_at else coalesce(c.failing_since, v.first_failure_at) end,
      last_success_at = case when v.ok = 1 then $8 else c.last_success_at end,
      last_failure_at = case when v.failures > 0 then $8 else c.last_failure_at end,
      last_attempt_status = v.last_status, last_attempt_error = v.last_error,
      exhausted_count = c.exhausted_count + v.exhausted,
      probe_delivery_id = null
    from unnest($1::bigint[], $2::integer[], $3::integer[], $4::bigint[], $5::integer[], $6::integer[], $7::text[])
      as v(id, ok, failures, first_failure_at, exhausted, last_status, last_error)
    where c.id = v.id`,
);

export async function recordDeliveries(sql: Sql, batch: ResultBatch): Promise<number[]> {
  await insertAttempts(sql, batch.attempts);
  const applied = await applyUpdates(sql, batch);
  if (batch.released.length > 0) {
    await sql(RELEASE, [column(batch.released, 'id'), column(batch.released, 'lease'), batch.now]);
  }
  for (const d of batch.deactivate) await sql(DEACTIVATE, [d.connectionId, d.reason, batch.now]);
  return applied;
}

async function applyUpdates(sql: Sql, batch: ResultBatch): Promise<number[]> {
  const updates = batch.updates;
  if (updates.length === 0) return [];
  const { rows } = await sql<{ id: number }>(APPLY, [
    column(updates, 'id'),
    column(updates, 'lease'),
    column(updates, 'status'),
    updates.map((u) => (u.attempted ? 1 : 0)),
    column(updates, 'nextAttemptAt'),
    column(updates, 'lastStatus'),
    column(updates, 'lastError'),
    batch.now,
  ]);
  return rows.map((r) => r.id);
}

/**
 * The counters of what applied: SendKit's, the minute's totals, each connection's hour,
 * health. Every statement takes its rows in connection id order (the arrays are sorted), so
 * two workers' statements wait for each other rather than deadlock.
 */
export async function addCounters(sql: Sql, batch: ResultBatch, applied: Set<number>): Promise<void> {
  const stats = [...finalCounts(batch, applied)].sort((a, b) => a[0] - b[0]);
  if (stats.length > 0) {
    await sql(ADD_STATS, [stats.map(([id]) => id), stats.map(([, s]) => s.delivered), stats.map(([, s]) => s.failed), batch.now]);
  }
  const outcomes = outcomeCounts(batch, applied);
  if (outcomes.succeeded + outcomes.failed > 0) {
    await sql(ADD_OUTCOMES, [minuteOf(batch.now), OUTCOME_SHARD, outcomes.succeeded, outcomes.failed]);
  }
  const hourly = connectionOutcomeCounts(batch, applied);
  if (hourly.length > 0) {
    await sql(ADD_CONNECTION_OUTCOMES, [column(hourly, 'connectionId'), hourOf(batch.now), column(hourly, 'succeeded'), column(hourly, 'failed')]);
  }
  const health = healthTallies(batch, applied);
  if (health.length > 0) {
    await sql(APPLY_HEALTH, [
      column(health, 'connectionId'),
      health.map((t) => (t.succeeded ? 1 : 0)),
      column(health, 'failures'),
      column(health, 'firstFailureAt'),
      column(health, 'exhausted'),
      column(health, 'lastStatus'),
      column(health, 'lastError'),
      batch.now,
    ]);
  }
}
