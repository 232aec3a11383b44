import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, type SqliteDatabase, sql } from 'kysely';
import pg from 'pg';
import { migrations } from './migrations.js';
import type { Database } from './schema.js';

export type Dialect = 'sqlite' | 'postgres';

export const SQLITE_DURABLE_SYNC = 'full';

export interface OpenedDatabase {
  db: Kysely<Database>;
  dialect: Dialect;
  /** PostgreSQL only: a pool for LISTEN connections, with the same settings. */
  pgConfig?: pg.ClientConfig;
}

// int8 (counts, ids, epoch-ms times) as numbers: every value Herald keeps fits in 2^53.
pg.types.setTypeParser(20, (value) => Number(value));

export function openDatabase(url: string, schema?: string): OpenedDatabase {
  if (/^postgres(ql)?:\/\//.test(url)) {
    const pgConfig: pg.ClientConfig = {
      connectionString: url,
      ...(schema ? { options: `-c search_path=${quoteIdent(schema)}` } : {}),
    };
    const pool = new pg.Pool({ ...pgConfig, max: 10 });
    return { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), dialect: 'postgres', pgConfig };
  }
  const file = url.replace(/^sqlite:/, '');
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  // FULL: an acknowledged event survives even a power cut; commits are grouped, so the
  // fsync is paid per batch, not per event.
  sqlite.pragma(`synchronous = ${SQLITE_DURABLE_SYNC}`);
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 10000');
  return {
    db: new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) }),
    dialect: 'sqlite',
  };
}

/**
 * Kysely prepares every query anew; preparing costs more than running most of Herald's
 * statements. Prepared statements are kept by SQL text (better-sqlite3 runs one statement at
 * a time, so sharing one is safe); multi-row inserts of odd sizes make the cache bounded.
 */
function withStatementCache(sqlite: SQLite.Database, size = 500): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    prepare(text: string) {
      let statement = cache.get(text);
      if (statement) {
        cache.delete(text);
      } else {
        statement = sqlite.prepare(text);
        if (cache.size >= size) cache.delete(cache.keys().next().value as string);
      }
      cache.set(text, statement);
      return statement;
    },
    close: () => sqlite.close(),
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
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${String(error)}`);
  }
}

function quoteIdent(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`invalid schema name "${name}"`);
  return name;
}
