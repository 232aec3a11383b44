import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../executor.js';

type Db = Kysely<unknown>;

/**
 * The customer portal (src/portal):
 * - `portal_sessions`: one row per session the admin API minted (or a key-pair sign-in
 *   opened). Only hashes are kept: `token_hash` of the single-use sign-in token,
 *   `session_hash` of the cookie it became (null until signed in). `capabilities` and `theme`
 *   are JSON text. Both hashes are unique, so each lookup is one index probe.
 * - `connection_outcomes`: deliveries finished per connection per hour, written by each
 *   result batch (one upsert per connection), read by the activity chart and the
 *   connections list's 24 h figures without touching `attempts`. Its primary key serves both
 *   reads and the cascade of a connection's deletion; `hour` alone serves retention.
 */
export function portal(dialect: Dialect): Migration {
  const big = dialect === 'postgres' ? 'bigint' : 'integer';
  return {
    async up(db: Db) {
      await db.schema
        .createTable('portal_sessions')
        .addColumn('id', big, (c) => (dialect === 'postgres' ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey().autoIncrement()))
        .addColumn('organization_id', big, (c) => c.notNull().references('organizations.id').onDelete('cascade'))
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('session_hash', 'text', (c) => c.unique())
        .addColumn('capabilities', 'text', (c) => c.notNull())
        .addColumn('theme', 'text', (c) => c.notNull())
        .addColumn('created_at', big, (c) => c.notNull())
        .addColumn('signed_in_at', big)
        .addColumn('expires_at', big, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('portal_sessions_expires').on('portal_sessions').column('expires_at').execute();
      await db.schema.createIndex('portal_sessions_org').on('portal_sessions').column('organization_id').execute();

      await db.schema
        .createTable('connection_outcomes')
        .addColumn('connection_id', big, (c) => c.notNull().references('connections.id').onDelete('cascade'))
        .addColumn('hour', big, (c) => c.notNull())
        .addColumn('succeeded', big, (c) => c.notNull())
        .addColumn('failed', big, (c) => c.notNull())
        .addPrimaryKeyConstraint('connection_outcomes_pk', ['connection_id', 'hour'])
        .execute();
      await db.schema.createIndex('connection_outcomes_hour').on('connection_outcomes').column('hour').execute();
    },
  };
}
