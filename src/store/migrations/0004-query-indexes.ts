import { type Kysely, type Migration, sql } from 'kysely';
import type { Dialect } from '../database.js';

type Db = Kysely<unknown>;

/**
 * Indexes for every API list and every clean-up, so that none of them reads a whole table
 * (test/store/query-plans.test.ts checks each query's plan on both dialects).
 *
 * Lists run newest first, keyset-paginated on `id` (`… and id < cursor order by id desc
 * limit n`), so each index ends in `id`: the database walks it backwards from the cursor and
 * stops after n rows, whatever the size of the organization. On SQLite every index already
 * ends in the rowid, which is `id`; on PostgreSQL it must be spelled out, so there the
 * single-column foreign-key indexes of 0001 become `(column, id)` (they still serve the
 * cascading deletes).
 *
 * Each index costs one B-tree write per insert on the delivery hot path (attempts,
 * deliveries, events), so filters share indexes where one serves: `is_test = 1` (broadcast
 * tests, rare) has a partial index, and `is_test = 0` walks the organization's index, where
 * nearly every row matches.
 */
export function queryIndexes(dialect: Dialect): Migration {
  const postgres = dialect === 'postgres';
  return {
    async up(db: Db) {
      const index = (name: string, table: string, columns: string[]) =>
        db.schema.createIndex(name).on(table).columns(columns).execute();
      const replace = async (name: string, table: string, columns: string[]) => {
        await db.schema.dropIndex(name).execute();
        await index(name, table, columns);
      };

      // GET /attempts: organization only, connection_id, is_test, subscription_id, delivery_id.
      await index('attempts_org', 'attempts', ['organization_id', 'id']);
      await index('attempts_connection', 'attempts', ['connection_id', 'id']);
      await db.schema
        .createIndex('attempts_tests')
        .on('attempts')
        .columns(['organization_id', 'id'])
        .where(sql.ref('is_test'), '=', 1)
        .execute();
      if (postgres) {
        await replace('attempts_delivery', 'attempts', ['delivery_id', 'id']);
        await replace('attempts_subscription', 'attempts', ['subscription_id', 'id']);
      }

      // GET /deliveries: organization only (deliveries_org), status, connection_id,
      // subscription_id, event_id. `deliveries_connection (connection_id, status)` stays for
      // failing a connection's pending deliveries.
      await index('deliveries_org_status', 'deliveries', ['organization_id', 'status', 'id']);
      await index('deliveries_connection_recent', 'deliveries', ['connection_id', 'id']);
      if (postgres) {
        await replace('deliveries_subscription', 'deliveries', ['subscription_id', 'id']);
        await replace('deliveries_event', 'deliveries', ['event_id', 'id']);
      }

      // GET /events: organization only (events_org), event_type, created_after/before.
      await index('events_type', 'events', ['organization_id', 'event_type', 'id']);
      await index('events_created', 'events', ['organization_id', 'created_at']);

      // GET /subscriptions (and v1's webhooks) list an organization's subscriptions in id
      // order; subscriptions_route serves routing by event type, not that order.
      await index('subscriptions_org', 'subscriptions', ['organization_id', 'id']);

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
