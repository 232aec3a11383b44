import type { Insertable } from 'kysely';
import type { DeliveriesTable, NewAttempt } from '../schema.js';
import type { RawSqlite } from './raw.js';

/**
 * Fan-out and attempt rows on SQLite: one prepared single-row insert each, run on the main
 * connection (inside ingest's transaction, and for test attempts) and on the queue thread
 * (a results batch's attempts).
 */

const INSERT_DELIVERY = `insert into deliveries (organization_id, event_id, subscription_id, connection_id, status,
  attempt_count, next_attempt_at, last_status, last_error, created_at, updated_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

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

