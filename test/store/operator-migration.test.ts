/**
 * Migration 0007 on a database made before it: every row stays, organization names are no
 * longer unique while external ids are, the children's foreign keys still cascade from the
 * rebuilt organizations table (SQLite), and on SQLite the file is converted once to
 * auto_vacuum = INCREMENTAL (a VACUUM).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { type OpenedDatabase, migrate, openDatabase } from '../../src/store/database.js';
import { isUniqueViolation } from '../../src/store/errors.js';
import { migrations } from '../../src/store/migrations/index.js';
import type { Database } from '../../src/store/schema.js';
import { DATABASES, dropSchema } from '../support/herald.js';

const T = 1_700_000_000_000;

describe.each(DATABASES)('migration 0007 on an older database (%s)', (kind) => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-0007-'));
  const schema = `herald_0007_${randomBytes(5).toString('hex')}`;
  const url = kind === 'sqlite' ? `sqlite:${join(dir, 'old.db')}` : (process.env.HERALD_TEST_POSTGRES_URL as string);
  let opened: OpenedDatabase | undefined;

  afterAll(async () => {
    await opened?.queue?.close();
    await opened?.db.destroy();
    if (kind === 'postgres') await dropSchema(schema);
    rmSync(dir, { recursive: true, force: true });
  });

  /** The schema of 0001–0006 only, made the way those versions made it (no auto_vacuum on SQLite). */
  async function olderDatabase(): Promise<Kysely<Database>> {
    let db: Kysely<Database>;
    if (kind === 'sqlite') {
      const handle = new SQLite(url.slice('sqlite:'.length));
      handle.pragma('journal_mode = WAL');
      handle.pragma('foreign_keys = ON');
      db = new Kysely<Database>({ dialect: new SqliteDialect({ database: handle }) });
    } else {
      const setup = new pg.Client({ connectionString: url });
      await setup.connect();
      await setup.query(`create schema ${schema}`);
      await setup.end();
      db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, options: `-c search_path=${schema}` }) }) });
    }
    const all = await migrations(kind).getMigrations();
    const before = Object.fromEntries(Object.entries(all).filter(([name]) => name < '0007'));
    const { error } = await new Migrator({
      db,
      provider: { getMigrations: async () => before },
      ...(kind === 'postgres' ? { migrationTableSchema: schema } : {}),
    }).migrateToLatest();
    expect(error).toBeUndefined();
    return db;
  }

  it('keeps every row and its references, and lifts the name uniqueness', async () => {
    const old = await olderDatabase();
    await sql`insert into organizations (name, created_at) values ('acme', ${T}), ('globex', ${T + 1})`.execute(old);
    await sql`insert into api_keys (organization_id, public_key, secret_hash, created_at) values (1, 'pk_a', 'h_a', ${T})`.execute(old);
    await sql`insert into access_tokens (token_hash, api_key_id, organization_id, expires_at) values ('t_a', 1, 1, ${T + 1e9})`.execute(old);
    await sql`insert into connections (organization_id, type, config, signature_scheme, signing_secret_sealed, status, created_at, updated_at)
      values (1, 'webhook', '{}', 'standard', 'x', 'active', ${T}, ${T})`.execute(old);
    await sql`insert into subscriptions (organization_id, connection_id, event_type, is_active, created_at, updated_at)
      values (1, 1, 'parcels.event.created', 1, ${T}, ${T})`.execute(old);
    await sql`insert into events (organization_id, event_type, payload, delivery_count, created_at) values (1, 'parcels.event.created', '{}', 1, ${T})`.execute(old);
    await sql`insert into deliveries (organization_id, event_id, subscription_id, connection_id, status, attempt_count, next_attempt_at, created_at, updated_at)
      values (1, 1, 1, 1, 'succeeded', 1, ${T}, ${T}, ${T})`.execute(old);
    if (kind === 'sqlite') {
      const { rows } = await sql<{ auto_vacuum: number }>`pragma auto_vacuum`.execute(old);
      expect(rows[0]?.auto_vacuum).toBe(0);
    }
    await old.destroy();

    opened = openDatabase(url, kind === 'postgres' ? schema : undefined);
    await migrate(opened, kind === 'postgres' ? schema : undefined);
    const db = opened.db;
    if (kind === 'sqlite') {
      expect(opened.raw?.handle.pragma('auto_vacuum', { simple: true })).toBe(2);
      expect(opened.raw?.handle.pragma('foreign_key_check')).toEqual([]);
    }
    expect(await db.selectFrom('organizations').selectAll().orderBy('id').execute()).toEqual([
      { id: 1, name: 'acme', external_id: null, status: 'active', created_at: T, updated_at: T },
      { id: 2, name: 'globex', external_id: null, status: 'active', created_at: T + 1, updated_at: T + 1 },
    ]);
    expect(await db.selectFrom('api_keys').select(['id', 'public_key', 'description', 'expires_at', 'last_used_at']).execute()).toEqual([
      { id: 1, public_key: 'pk_a', description: null, expires_at: null, last_used_at: null },
    ]);
    // Names repeat now; external ids do not.
    await db.insertInto('organizations').values({ name: 'acme', external_id: 'cus_1', status: 'active', created_at: T, updated_at: T }).execute();
    const twice = await db
      .insertInto('organizations')
      .values({ name: 'other', external_id: 'cus_1', status: 'active', created_at: T, updated_at: T })
      .execute()
      .then(() => undefined, (error: unknown) => error);
    expect(isUniqueViolation(twice)).toBe(true);
    // New ids continue after the old ones.
    const next = await db.insertInto('organizations').values({ name: 'n', external_id: null, status: 'active', created_at: T, updated_at: T }).returning('id').executeTakeFirstOrThrow();
    expect(next.id).toBeGreaterThan(3);
    // The children still refer to the organizations table: deleting one cascades through them.
    await db.deleteFrom('organizations').where('id', '=', 1).execute();
    for (const table of ['api_keys', 'access_tokens', 'connections', 'subscriptions', 'events', 'deliveries'] as const) {
      const n = await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      expect(Number(n.n), table).toBe(0);
    }
    // Once only: a second migrate finds nothing to do.
    await migrate(opened, kind === 'postgres' ? schema : undefined);
  });
});
