import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { migrations } from './migrations/index.js';
import { RawSqlite, SQLITE_DURABLE_SYNC } from './raw-sqlite.js';
import { openSqliteHandle } from './sqlite-handle.js';
import { type SqliteQueue, sqliteQueue } from './sqlite-queue-client.js';
import type { Database } from './schema.js';

export type Dialect = 'sqlite' | 'postgres';

export interface OpenedDatabase {
  db: Kysely<Database>;
  dialect: Dialect;
  /** PostgreSQL only: a pool for LISTEN connections, with the same settings. */
  pgConfig?: pg.ClientConfig;
  /** PostgreSQL only: the pool, whose idle-connection errors the process logs. */
  pool?: pg.Pool;
  /** SQLite only: the handle for the delivery hot path's prepared statements. */
  raw?: RawSqlite;
  /** SQLite only: claims and result batches, off the main thread. */
  queue?: SqliteQueue;
  /** SQLite only: the database file (`:memory:` for an in-memory one). */
  file?: string;
}

// int8 (counts, ids, epoch-ms times) as numbers: every value Herald keeps fits in 2^53.
pg.types.setTypeParser(20, (value) => Number(value));

export function openDatabase(url: string, schema?: string): OpenedDatabase {
  if (/^postgres(ql)?:\/\//.test(url)) {
    const pgConfig: pg.ClientConfig = {
      connectionString: url,
      // Operators (and tests) tell Herald's sessions apart in pg_stat_activity by this.
      application_name: schema ? `herald ${schema}` : 'herald',
      // While the server is away, a request fails within this instead of waiting forever.
      connectionTimeoutMillis: 5000,
      ...(schema ? { options: `-c search_path=${quoteIdent(schema)}` } : {}),
    };
    const pool = new pg.Pool({ ...pgConfig, max: 10 });
    // An idle connection terminated by the server (restart, failover, pg_terminate_backend)
    // is emitted here; without a listener it is an unhandled error that kills the process.
    // The pool drops it and opens a new one on the next query; herald.ts logs it.
    pool.on('error', () => undefined);
    // The pool listens only while a connection is idle; one checked out (a transaction between
    // two statements) that the server terminates would raise an unhandled error. Its query
    // fails on its own, and the pool discards the broken connection when it comes back.
    pool.on('connect', (client) => client.on('error', () => undefined));
    return { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), dialect: 'postgres', pgConfig, pool };
  }
  const file = url.replace(/^sqlite:/, '');
  const raw = new RawSqlite(openSqliteHandle(file, SQLITE_DURABLE_SYNC, 8));
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw.kyselyDatabase() }) });
  return {
    db,
    dialect: 'sqlite',
    raw,
    queue: sqliteQueue(file, raw, db),
    file,
  };
}

export async function migrate(opened: OpenedDatabase, schema?: string): Promise<void> {
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

function quoteIdent(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`invalid schema name "${name}"`);
  return name;
}
