import type { Insertable } from 'kysely';
import type { DeliveriesTable, NewAttempt } from '../schema.js';
import { prepared } from './prepared.js';
import { type Sql, column } from './sql.js';

/**
 * Fan-out and attempt rows on PostgreSQL (sqlite/rows.ts is SQLite's): every row of a batch
 * in one named statement, each column one array parameter that `unnest` turns back into
 * rows. A multi-row VALUES list is parsed and planned anew for every length; this text is
 * the same for 1 row and 100,000.
 */
export const INSERT_DELIVERIES = prepared(
  'insert_deliveries',
  `insert into deliveries (organization_id, event_id, subscription_id, connection_id, status, attempt_count,
      next_attempt_at, last_status, last_error, created_at, updated_at)
    select * from unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::integer[],
      $7::bigint[], $8::integer[], $9::text[], $10::bigint[], $11::bigint[])`,
);

/**
 * Attempts are inserted only where their subscription and delivery still exist: one deleted
 * while its request was out drops alone instead of failing the batch's foreign key (and with
 * it every tenant's results; see sqlite/rows.ts).
 */
export const INSERT_ATTEMPTS = prepared(
  'insert_attempts',
  `insert into attempts (organization_id, delivery_id, subscription_id, connection_id, number, is_test,
      started_at, duration_ms, url, request_headers, response_status, response_body, error)
    select v.* from unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::integer[], $6::integer[],
      $7::bigint[], $8::integer[], $9::text[], $10::text[], $11::integer[], $12::text[], $13::text[])
      as v(organization_id, delivery_id, subscription_id, connection_id, number, is_test, started_at, duration_ms,
        url, request_headers, response_status, response_body, error)
    where exists (select 1 from subscriptions s where s.id = v.subscription_id)
      and (v.delivery_id is null or exists (select 1 from deliveries d where d.id = v.delivery_id))`,
);

export async function insertDeliveries(sql: Sql, rows: readonly Insertable<DeliveriesTable>[]): Promise<void> {
  if (rows.length === 0) return;
  const col = (key: keyof Insertable<DeliveriesTable>) => column(rows, key);
  await sql(INSERT_DELIVERIES, [
    col('organization_id'),
    col('event_id'),
    col('subscription_id'),
    col('connection_id'),
    col('status'),
    col('attempt_count'),
    col('next_attempt_at'),
    col('last_status'),
    col('last_error'),
    col('created_at'),
    col('updated_at'),
  ]);
}

export async function insertAttempts(sql: Sql, rows: readonly NewAttempt[]): Promise<void> {
  if (rows.length === 0) return;
  const col = (key: keyof NewAttempt) => column(rows, key);
  await sql(INSERT_ATTEMPTS, [
    col('organization_id'),
    col('delivery_id'),
    col('subscription_id'),
    col('connection_id'),
    col('number'),
    col('is_test'),
    col('started_at'),
    col('duration_ms'),
    col('url'),
    col('request_headers'),
    col('response_status'),
    col('response_body'),
    col('error'),
  ]);
}
