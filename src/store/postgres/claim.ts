import type { ClaimRequest, ClaimedDelivery } from '../queue.js';
import { prepared } from './prepared.js';
import type { Sql } from './sql.js';

/**
 * PostgreSQL's claim, one statement and one round trip (sqlite/claim.ts is SQLite's). The
 * `scan` earliest due rows are locked as read (SKIP LOCKED: rows another worker is leasing
 * right now are passed over, so workers claim side by side and never the same row); at most
 * `perConnection` of any one connection are picked from them; the picked ones are leased.
 * The locks on the rows scanned but not picked end with the statement.
 *
 * "Now" is the database's clock (`now()`, the statement's start in autocommit), so workers
 * with skewed clocks agree on leases; being stable, not volatile, it can bound the due index
 * (deliveries_due: next_attempt_at, id, connection_id where status = 'pending').
 *
 * $1 connections to leave out, $2 scan, $3 per connection, $4 limit, $5 lease in ms.
 */
export const CLAIM = prepared(
  'claim',
  `with scanned as (
    select id, connection_id, next_attempt_at from deliveries
    where status = 'pending' and next_attempt_at <= (extract(epoch from now()) * 1000)::bigint
      and connection_id <> all($1::bigint[])
    order by next_attempt_at, id
    limit $2
    for update skip locked
  ), picked as (
    select id from (
      select id, next_attempt_at, row_number() over (partition by connection_id order by next_attempt_at, id) as rank
      from scanned
    ) ranked
    where rank <= $3
    order by next_attempt_at, id
    limit $4
  )
  update deliveries d set next_attempt_at = (extract(epoch from now()) * 1000)::bigint + $5, leased = 1
  from picked where d.id = picked.id
  returning d.id, d.organization_id, d.event_id, d.subscription_id, d.connection_id, d.attempt_count, d.next_attempt_at`,
);

export async function claimDue(sql: Sql, r: ClaimRequest): Promise<ClaimedDelivery[]> {
  const { rows } = await sql<ClaimedDelivery>(CLAIM, [r.exclude, r.scan, r.perConnection, r.limit, r.leaseMs]);
  // RETURNING comes in no particular order: back to arrival order.
  return rows.sort((a, b) => a.id - b.id);
}
