/**
 * One fault test's world: a data folder, a fresh database (SQLite file or PostgreSQL schema)
 * and the environment every Herald process of the test shares (one secret key, short
 * retries, private networks allowed, no rate limits: the tests poll the API a lot).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe } from 'vitest';
import { type DatabaseKind, dropSchema } from '../../support/herald.js';
import { ensureBuilt, killAll } from '../../support/process.js';

/** PostgreSQL tests run when HERALD_TEST_POSTGRES_URL is set, like the rest of the suite. */
export const POSTGRES_URL = process.env.HERALD_TEST_POSTGRES_URL;

/** `describe` for a PostgreSQL-only suite; skipped (and titled so) without a database. */
export function describePostgres(title: string, body: () => void): void {
  if (POSTGRES_URL) describe(title, body);
  else describe.skip(`${title} — skipped: set HERALD_TEST_POSTGRES_URL to run it`, body);
}

export const FAULT_DATABASES: DatabaseKind[] = POSTGRES_URL ? ['sqlite', 'postgres'] : ['sqlite'];

export interface FaultWorld {
  kind: DatabaseKind;
  dataDir: string;
  /** The PostgreSQL schema, when the world is on PostgreSQL. */
  schema: string | undefined;
  env: Record<string, string>;
  /** Kills every Herald process still running, drops the schema, removes the folder. */
  cleanup(): Promise<void>;
}

export function faultWorld(kind: DatabaseKind, overrides: Record<string, string> = {}): FaultWorld {
  ensureBuilt();
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-faults-'));
  const schema = kind === 'postgres' ? `herald_faults_${randomBytes(6).toString('hex')}` : undefined;
  if (kind === 'postgres' && !POSTGRES_URL) throw new Error('HERALD_TEST_POSTGRES_URL is not set');
  const database: Record<string, string> =
    kind === 'postgres'
      ? { HERALD_DATABASE_URL: POSTGRES_URL as string, HERALD_DATABASE_SCHEMA: schema as string }
      : { HERALD_DATABASE_URL: `sqlite:${join(dataDir, 'herald.db')}` };
  const env: Record<string, string> = {
    HERALD_DATA_DIR: dataDir,
    ...database,
    HERALD_SECRET_KEY: randomBytes(32).toString('base64'),
    HERALD_ALLOW_PRIVATE_NETWORKS: 'true',
    HERALD_RETRY_SCHEDULE: '200ms,500ms,1s',
    HERALD_RATE_LIMIT_API: '0',
    HERALD_RATE_LIMIT_EVENTS: '0',
    ...overrides,
  };
  return {
    kind,
    dataDir,
    schema,
    env,
    async cleanup() {
      await killAll();
      if (schema) {
        // The server may just have been restarted by a test: give it a few tries.
        for (let attempt = 1; ; attempt++) {
          try {
            await dropSchema(schema);
            break;
          } catch (error) {
            if (attempt >= 10) throw error;
            await new Promise((r) => setTimeout(r, 500));
          }
        }
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** One query on the test PostgreSQL server, on a connection of its own. */
export async function pgQuery<T extends pg.QueryResultRow = any>(sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, application_name: 'herald-fault-tests' });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** The `application_name` Herald's processes use on a schema (what pg_terminate_backend targets). */
export const applicationName = (schema: string) => `herald ${schema}`;
