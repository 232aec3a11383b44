import { type Kysely, type Migration, sql } from 'kysely';
import type { Dialect } from '../executor.js';

type Db = Kysely<unknown>;

/**
 * Indexes for every API list and every clean-up, so that none of them reads a whole table
 * (test/store/query-plans.test.ts checks each query's plan on both dialects).
 *
 * Lists run newest first, keyset-paginated on `id` (`… and id < cursor order by id desc
 * limit n`), so each list index ends in `id`: the database walks it backwards from the
 * cursor and stops after n rows, whatever the size of the organization. SQLite ends every
 * index in the rowid, which is `id`, so its single-column foreign-key indexes of 0001 already
 * serve their filter that way; on PostgreSQL they become `(column, id)` (still serving the
 * cascading deletes). New indexes spell `id` out on both: without statistics, SQLite's
 * planner then prefers the narrower foreign-key index for `delivery_id` and
 * `subscription_id` over the organization's (the plan test checks which index serves each
 * filter).
 *
 * Each index on attempts, deliveries or events costs a B-tree write per row on the delivery
 * hot path, so rare values get partial indexes, which rows outside them cost nothing:
 * `is_test = 1` (broadcast tests) and `status = 'failed'`. The common values (`is_test = 0`,
 * `succeeded`, `pending`: the newest rows) walk the organization's index, where most rows
 * match. The queries name those values as literals: SQLite uses a partial index only when
 * the query's own term matches it when the statement is prepared.
 */
export function queryIndexes(dialect: Dialect): Migration {
  const postgres = dialect === 'postgres';
  /** The columns of a list index: the filter, then `id`. */
  const newest = (...columns: string[]) => [...columns, 'id'];
  return {
    async up(db: Db) {
      const index = (name: string, table: string, columns: string[]) =>
        db.schema.createIndex(name).on(table).columns(columns).execute();
      const replace = async (name: string, table: string, columns: string[]) => {
        await db.schema.dropIndex(name).execute();
        await index(name, table, columns);
      };

      // GET /attempts: organization only, connection_id, is_test, subscription_id, delivery_id.
      await index('attempts_org', 'attempts', newest('organization_id'));
      await index('attempts_connection', 'attempts', newest('connection_id'));
      await db.schema
        .createIndex('attempts_tests')
        .on('attempts')
        .columns(newest('organization_id'))
        .where(sql.ref('is_test'), '=', 1)
        .execute();
      if (postgres) {
        await replace('attempts_delivery', 'attempts', newest('delivery_id'));
        await replace('attempts_subscription', 'attempts', newest('subscription_id'));
      }

      // GET /deliveries: organization only (deliveries_org), status, connection_id,
      // subscription_id, event_id. `(connection_id, status)` served nothing that
      // `(connection_id, id)` does not: it is replaced, not joined by a second index.
      await replace('deliveries_connection', 'deliveries', newest('connection_id'));
      await db.schema
        .createIndex('deliveries_failed')
        .on('deliveries')
        .columns(newest('organization_id'))
        .where(sql.ref('status'), '=', 'failed')
        .execute();
      if (postgres) {
        await replace('deliveries_subscription', 'deliveries', newest('subscription_id'));
        await replace('deliveries_event', 'deliveries', newest('event_id'));
      }

      // GET /events: organization only (events_org), event_type, created_after/before.
      await index('events_type', 'events', newest('organization_id', 'event_type'));
      await index('events_created', 'events', ['organization_id', 'created_at']);

      // GET /subscriptions (and v1's webhooks) list an organization's subscriptions in id
      // order; subscriptions_route serves routing by event type, not that order.
      await index('subscriptions_org', 'subscriptions', newest('organization_id'));

      // Clean-ups (src/delivery/maintenance.ts) pick expired rows by these columns.
      await index('idempotency_keys_created', 'idempotency_keys', ['created_at']);
      await index('access_tokens_expires', 'access_tokens', ['expires_at']);
      await index('oauth_states_expires', 'oauth_states', ['expires_at']);

      if (postgres) {
        // API request counters shared by every API process (src/store/rate-limits.ts).
        // UNLOGGED: no WAL and no fsync per request; a crash only resets the counters.
        // One row per organization and budget, reused by each new window: nothing to purge.
        await sql`
          create unlogged table rate_limits (
            key text primary key,
            count integer not null,
            window_end bigint not null
          )`.execute(db);
      }
    },
  };
}
