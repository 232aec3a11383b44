/**
 * Vitest globalSetup (once, before any test file): decides whether the PostgreSQL tests
 * run. HERALD_TEST_POSTGRES_URL wins when set; otherwise a server answering at the default
 * URL is used. The decision goes to the test files (forked after this) through the
 * environment, where test/support/herald.ts reads it, and is printed either way.
 */
import pg from 'pg';

export const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';

async function answers(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message || error.name : String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export default async function setup(): Promise<void> {
  const given = process.env.HERALD_TEST_POSTGRES_URL;
  if (given) {
    process.stdout.write(`PostgreSQL tests: on (HERALD_TEST_POSTGRES_URL=${given})\n`);
    return;
  }
  const problem = await answers(DEFAULT_POSTGRES_URL);
  if (problem === undefined) {
    process.env.HERALD_TEST_POSTGRES_URL = DEFAULT_POSTGRES_URL;
    process.stdout.write(`PostgreSQL tests: on (${DEFAULT_POSTGRES_URL} answers)\n`);
    return;
  }
  process.stdout.write(
    `\n*** PostgreSQL tests SKIPPED: ${DEFAULT_POSTGRES_URL} does not answer (${problem}). ` +
      'Start PostgreSQL there (trust auth, database "test") or set HERALD_TEST_POSTGRES_URL. ***\n\n',
  );
}
