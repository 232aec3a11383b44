import { type Kysely, type Migration, sql } from 'kysely';
import type { Dialect } from '../executor.js';

type Db = Kysely<unknown>;

/**
 * The delivery engine under change and faults:
 * - `deliveries.connection_id` references its connection (ON DELETE CASCADE): a delivery can
 *   no longer point at a connection that is gone and stay pending forever.
 * - `deliveries.leased` (0/1) tells a delivery a worker holds (its `next_attempt_at` is the
 *   lease's end) from one waiting for a retry, so a manual retry never doubles an attempt in flight.
 * - `parked` deliveries (status) wait for their subscription to be active again; a partial
 *   index finds them by subscription when it resumes.
 */
export function engine(dialect: Dialect): Migration {
  return {
    async up(db: Db) {
      if (dialect === 'postgres') {
        await sql`alter table deliveries add column leased integer not null default 0`.execute(db);
        // Rows left over from before the constraint would block it: they are undeliverable anyway.
        await sql`delete from deliveries d where not exists (select 1 from connections c where c.id = d.connection_id)`.execute(db);
        await sql`alter table deliveries add constraint deliveries_connection_fk foreign key (connection_id)
          references connections (id) on delete cascade`.execute(db);
      } else {
        await rebuildSqliteDeliveries(db);
      }
      await db.schema
        .createIndex('deliveries_parked')
        .on('deliveries')
        .column('subscription_id')
        .where(sql.ref('status'), '=', 'parked')
        .execute();
    },
  };
}

/**
 * SQLite cannot add a foreign key to a table: the documented way is a new table, a copy, and
 * a rename, with foreign keys off meanwhile (dropping the old table would otherwise cascade
 * into attempts). Migrations on SQLite run outside a transaction, so the pragma takes effect.
 */
async function rebuildSqliteDeliveries(db: Db): Promise<void> {
  await sql`pragma foreign_keys = off`.execute(db);
  try {
    await sql`begin immediate`.execute(db);
    try {
      await sql`create table deliveries_new (
        id integer primary key autoincrement,
        organization_id integer not null,
        event_id integer not null references events (id) on delete cascade,
        subscription_id integer not null references subscriptions (id) on delete cascade,
        connection_id integer not null references connections (id) on delete cascade,
        status text not null,
        attempt_count integer not null,
        next_attempt_at integer not null,
        last_status integer,
        last_error text,
        created_at integer not null,
        updated_at integer not null,
        leased integer not null default 0
      )`.execute(db);
      await sql`insert into deliveries_new (id, organization_id, event_id, subscription_id, connection_id, status,
          attempt_count, next_attempt_at, last_status, last_error, created_at, updated_at)
        select d.id, d.organization_id, d.event_id, d.subscription_id, d.connection_id, d.status, d.attempt_count,
          d.next_attempt_at, d.last_status, d.last_error, d.created_at, d.updated_at
        from deliveries d where exists (select 1 from connections c where c.id = d.connection_id)`.execute(db);
      await sql`drop table deliveries`.execute(db);
      await sql`alter table deliveries_new rename to deliveries`.execute(db);
      await sql`create index deliveries_due on deliveries (next_attempt_at, id, connection_id) where status = 'pending'`.execute(db);
      await sql`create index deliveries_org on deliveries (organization_id, id)`.execute(db);
      await sql`create index deliveries_event on deliveries (event_id)`.execute(db);
      await sql`create index deliveries_subscription on deliveries (subscription_id)`.execute(db);
      await sql`create index deliveries_connection on deliveries (connection_id, status)`.execute(db);
      await sql`commit`.execute(db);
    } catch (error) {
      await sql`rollback`.execute(db);
      throw error;
    }
  } finally {
    await sql`pragma foreign_keys = on`.execute(db);
  }
}
