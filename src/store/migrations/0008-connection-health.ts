import { type Kysely, type Migration, sql } from 'kysely';
import type { Dialect } from '../executor.js';

type Db = Kysely<unknown>;

/**
 * Endpoint health (delivery/health-monitor.ts). `health` is the circuit's state: `active`,
 * `failing` (open: only probes go out) or `disabled` (nothing goes out). It sits beside
 * `status`, which keeps the OAuth state of Klaviyo connections; the API shows whichever is
 * not `active`. The counters are written by every result batch and never touch `updated_at`
 * (the delivery cache's key), so they cost no re-decryption.
 *
 * Partial indexes keep the monitor's polls small: only connections with a failure streak,
 * a circuit not closed, or deliveries ended `failed` and not yet reported are in them. Parked
 * deliveries get an index by connection, for the probe (the oldest waiting one) and for
 * letting a connection's backlog go again.
 */
export function connectionHealth(dialect: Dialect): Migration {
  const big = dialect === 'postgres' ? 'bigint' : 'integer';
  return {
    async up(db: Db) {
      const add = (name: string, type: string, notNullDefault?: string | number) =>
        db.schema
          .alterTable('connections')
          .addColumn(name, sql.raw(type), (c) => (notNullDefault === undefined ? c : c.notNull().defaultTo(notNullDefault)))
          .execute();
      await add('health', 'text', 'active');
      await add('health_reason', 'text');
      await add('consecutive_failures', 'integer', 0);
      await add('failing_since', big);
      await add('last_success_at', big);
      await add('last_failure_at', big);
      await add('last_attempt_status', 'integer');
      await add('last_attempt_error', 'text');
      await add('disabled_at', big);
      await add('probe_at', big);
      await add('probe_interval_ms', big);
      await add('probe_delivery_id', big);
      await add('exhausted_count', 'integer', 0);
      await add('exhausted_reported_at', big, 0);
      await add('release_backlog', 'integer', 0);

      await db.schema
        .createIndex('connections_streak')
        .on('connections')
        .column('failing_since')
        .where(sql.ref('consecutive_failures'), '>', 0)
        .execute();
      await db.schema
        .createIndex('connections_unhealthy')
        .on('connections')
        .columns(['health', 'probe_at'])
        .where(sql.ref('health'), '<>', 'active')
        .execute();
      await db.schema
        .createIndex('connections_exhausted')
        .on('connections')
        .column('exhausted_reported_at')
        .where(sql.ref('exhausted_count'), '>', 0)
        .execute();
      await db.schema
        .createIndex('connections_backlog')
        .on('connections')
        .column('release_backlog')
        .where(sql.ref('release_backlog'), '=', 1)
        .execute();
      await db.schema
        .createIndex('deliveries_parked_connection')
        .on('deliveries')
        .columns(['connection_id', 'id'])
        .where(sql.ref('status'), '=', 'parked')
        .execute();
    },
  };
}
