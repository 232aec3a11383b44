import { type Kysely, type Migration, sql } from 'kysely';
import type { Dialect } from '../executor.js';

type Db = Kysely<unknown>;

/**
 * The operator's side (admin API, CLI, retention):
 * - organizations get `external_id` (the platform's own customer id, unique when given),
 *   `status` (`active`, `suspended`, or `deleting` while its rows are removed in batches) and
 *   `updated_at`. Names are no longer unique: two customers may well share a display name;
 *   `external_id` is what identifies them. SQLite cannot drop a column's UNIQUE, so the table is
 *   rebuilt (as 0003 did for deliveries).
 * - api_keys get `description`, `expires_at` and `last_used_at`, and the indexes that serve
 *   listing an organization's keys and revoking one (its access tokens go by cascade).
 * - indexes for the retention pass and the organization purge (test/store/query-plans.test.ts).
 * - `delivery_outcomes`: deliveries finished per minute (succeeded, failed), for the admin stats.
 * - SQLite: `auto_vacuum = INCREMENTAL`, so that retention can give freed pages back to the
 *   file system (`pragma incremental_vacuum`). A database created before this migration has
 *   to be rewritten once for that (VACUUM): this migration does it, which takes a while on a
 *   large file and needs free disk space of about its size. New files get the mode at open.
 */
export function operator(dialect: Dialect): Migration {
  const big = dialect === 'postgres' ? 'bigint' : 'integer';
  return {
    async up(db: Db) {
      if (dialect === 'postgres') {
        await sql`alter table organizations drop constraint if exists organizations_name_key`.execute(db);
        await sql`alter table organizations add column external_id text`.execute(db);
        await sql`alter table organizations add column status text not null default 'active'`.execute(db);
        await sql`alter table organizations add column updated_at bigint`.execute(db);
        await sql`update organizations set updated_at = created_at`.execute(db);
        await sql`alter table organizations alter column updated_at set not null`.execute(db);
      } else {
        await rebuildSqliteOrganizations(db);
      }
      await db.schema.createIndex('organizations_external_id').on('organizations').column('external_id').unique().execute();
      await db.schema.createIndex('organizations_name').on('organizations').columns(['name', 'id']).execute();
      // Organizations whose rows are still being removed (a purge interrupted is finished later).
      await db.schema
        .createIndex('organizations_deleting')
        .on('organizations')
        .column('id')
        .where(sql.ref('status'), '=', 'deleting')
        .execute();

      await db.schema.alterTable('api_keys').addColumn('description', 'text').execute();
      await db.schema.alterTable('api_keys').addColumn('expires_at', big).execute();
      await db.schema.alterTable('api_keys').addColumn('last_used_at', big).execute();
      await db.schema.createIndex('api_keys_org').on('api_keys').columns(['organization_id', 'id']).execute();
      // Revoking a key deletes its access tokens by cascade: without this, a scan of them all.
      await db.schema.createIndex('access_tokens_key').on('access_tokens').column('api_key_id').execute();
      // Deleting a connection cascades into its OAuth states.
      await db.schema.createIndex('oauth_states_connection').on('oauth_states').column('connection_id').execute();
      // Retention of broadcast tests (rare rows: a partial index costs deliveries nothing).
      await db.schema
        .createIndex('attempts_tests_started')
        .on('attempts')
        .column('started_at')
        .where(sql.ref('is_test'), '=', 1)
        .execute();

      await db.schema
        .createTable('delivery_outcomes')
        .addColumn('minute', big, (c) => c.notNull())
        .addColumn('shard', 'integer', (c) => c.notNull())
        .addColumn('succeeded', big, (c) => c.notNull())
        .addColumn('failed', big, (c) => c.notNull())
        .addPrimaryKeyConstraint('delivery_outcomes_pk', ['minute', 'shard'])
        .execute();

      if (dialect === 'sqlite') await enableIncrementalVacuum(db);
    },
  };
}

/** SQLite's auto_vacuum takes effect on an existing file only through a VACUUM (outside any transaction). */
async function enableIncrementalVacuum(db: Db): Promise<void> {
  const { rows } = await sql<{ auto_vacuum: number }>`pragma auto_vacuum`.execute(db);
  if (rows[0]?.auto_vacuum === 2) return;
  await sql`pragma auto_vacuum = incremental`.execute(db);
  await sql`vacuum`.execute(db);
}

/**
 * A new organizations table without the UNIQUE on `name`, the rows copied, the old one dropped
 * and the new one renamed, with foreign keys off meanwhile (dropping the old table would
 * otherwise cascade into every organization's keys, connections and events). Children refer
 * to the table by name, so they refer to the new one after the rename.
 */
async function rebuildSqliteOrganizations(db: Db): Promise<void> {
  await sql`pragma foreign_keys = off`.execute(db);
  try {
    await sql`begin immediate`.execute(db);
    try {
      await sql`create table organizations_new (
        id integer primary key autoincrement,
        name text not null,
        created_at integer not null,
        external_id text,
        status text not null default 'active',
        updated_at integer not null
      )`.execute(db);
      await sql`insert into organizations_new (id, name, created_at, external_id, status, updated_at)
        select id, name, created_at, null, 'active', created_at from organizations`.execute(db);
      await sql`drop table organizations`.execute(db);
      await sql`alter table organizations_new rename to organizations`.execute(db);
      await sql`commit`.execute(db);
    } catch (error) {
      await sql`rollback`.execute(db);
      throw error;
    }
  } finally {
    await sql`pragma foreign_keys = on`.execute(db);
  }
}
