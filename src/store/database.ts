import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import type pg from 'pg';
import type { Dialect } from './executor.js';
import { migrations } from './migrations/index.js';
import { openPool } from './postgres/open.js';
import { PostgresQueue } from './postgres/queue.js';
import type { DeliveryQueue } from './queue.js';
import type { Database } from './schema.js';
import { openSqliteHandle } from './sqlite/handle.js';
import { sqliteQueue } from './sqlite/queue.js';
import { RawSqlite, SQLITE_DURABLE_SYNC } from './sqlite/raw.js';

export interface OpenedDatabase {
  db: Kysely<Database>;
  dialect: Dialect;
  /** The delivery hot path: claims and result batches (SQLite: off the main thread). */
  queue: DeliveryQueue;
  /** PostgreSQL only: a pool for LISTEN connections, with the same settings. */
  pgConfig?: pg.ClientConfig;
  /** PostgreSQL only: the pool, whose idle-connection errors the process logs. */
  pool?: pg.Pool;
  /** SQLite only: the handle for the fan-out's prepared statements. */
  raw?: RawSqlite;
  /** SQLite only: the database file (`:memory:` for an in-memory one). */
  file?: string;
}

export function openDatabase(url: string, schema?: string): OpenedDatabase {
  if (/^postgres(ql)?:\/\//.test(url)) {
    const { pool, config } = openPool(url, schema);
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { db, dialect: 'postgres', queue: new PostgresQueue(pool), pgConfig: config, pool };
  }
  const file = url.replace(/^sqlite:/, '');
  const raw = new RawSqlite(openSqliteHandle(file, SQLITE_DURABLE_SYNC, 8));
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw.kyselyDatabase() }) });
  return { db, dialect: 'sqlite', queue: sqliteQueue(file, raw, db), raw, file };
}

export async function migrate(opened: Pick<OpenedDatabase, 'db' | 'dialect'>, schema?: string): Promise<void> {
  if (opened.dialect === 'postgres' && schema) {
    await sql`create schema if not exists ${sql.id(schema)}`.execute(opened.db);
  }
  const migrator = new Migrator({
    db: opened.db,
    provider: migrations(opened.dialect),
    ...(opened.dialect === 'postgres' && schema ? { migrationTableSchema: schema } : {}),
  });
  let { error, results } = await migrator.migrateToLatest();
  // Kysely's migrator looks for its table by introspecting every schema of the database; a
  // schema another client drops during that query fails it with 3F000 ("schema … does not
  // exist", naming the other schema). Nothing was migrated then: look again.
  for (let attempt = 1; attempt < 5 && isSchemaDroppedMeanwhile(error); attempt++) {
    ({ error, results } = await migrator.migrateToLatest());
  }
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${String(error)}`);
  }
}

function isSchemaDroppedMeanwhile(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '3F000';
}
