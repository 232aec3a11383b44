/**
 * A process whose secret key does not fit the database refuses to start, saying what to do,
 * instead of running with secrets it cannot open (and logging the same error every second).
 * Real processes (the built CLI) on one SQLite file and on one PostgreSQL schema.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES, type DatabaseKind, dropSchema, freshDatabaseEnv } from '../support/herald.js';
import { type Exit, type HeraldProcess, createKeys, ensureBuilt, killAll, spawnHerald } from '../support/process.js';

const CONNECTIONS = '/api/v3/event-subscriptions/connections';

/** The exit of a process that should stop by itself (a refusal), or a failure after 30 s. */
async function exitOf(proc: HeraldProcess): Promise<Exit> {
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`${proc.name} did not exit:\n${proc.tail()}`)), 30_000),
  );
  return Promise.race([proc.exited, timeout]);
}

describe.each(DATABASES)('secret-key check on %s', (kind: DatabaseKind) => {
  const dirs: string[] = [];
  let database: Record<string, string>;
  let first: HeraldProcess;
  const firstKey = randomBytes(32).toString('base64');
  const dir = () => {
    const d = mkdtempSync(join(tmpdir(), 'herald-keycheck-'));
    dirs.push(d);
    return d;
  };

  beforeAll(async () => {
    ensureBuilt();
    const shared = dir();
    database = freshDatabaseEnv(kind, shared);
    first = await spawnHerald({
      name: 'first',
      env: { ...database, HERALD_DATA_DIR: shared, HERALD_SECRET_KEY: firstKey, HERALD_ALLOW_PRIVATE_NETWORKS: 'true' },
    });
  });
  afterAll(async () => {
    await killAll();
    if (database?.HERALD_DATABASE_SCHEMA) await dropSchema(database.HERALD_DATABASE_SCHEMA);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('refuses a second process with another HERALD_SECRET_KEY, naming the variable and the fix', async () => {
    const other = await spawnHerald({
      name: 'other-key',
      waitReady: false,
      env: { ...database, HERALD_DATA_DIR: dir(), HERALD_SECRET_KEY: randomBytes(32).toString('base64') },
    });
    const exit = await exitOf(other);
    expect(exit.code, other.tail()).toBe(1);
    expect(other.stderr).toMatch(/HERALD_SECRET_KEY does not match the key this database's secrets are sealed with/);
    expect(other.stderr).toMatch(/set the same HERALD_SECRET_KEY in every process/);
    expect(other.stderr).not.toMatch(/\n\s+at /); // a sentence, not a stack trace
    // Nothing of the refused process was served, and the first one is unharmed.
    expect((await first.request('GET', '/healthz')).status).toBe(200);
  });

  it('refuses a passphrase that is not the key (the passphrase path runs too)', async () => {
    const other = await spawnHerald({
      name: 'passphrase',
      waitReady: false,
      env: { ...database, HERALD_DATA_DIR: dir(), HERALD_SECRET_KEY: 'not the key of this database' },
    });
    expect((await exitOf(other)).code, other.tail()).toBe(1);
    expect(other.stderr).toMatch(/HERALD_SECRET_KEY does not match/);
  });

  it('refuses a process without HERALD_SECRET_KEY whose generated key file differs, saying to set one key everywhere', async () => {
    const ownDir = dir();
    const other = await spawnHerald({ name: 'key-file', waitReady: false, env: { ...database, HERALD_DATA_DIR: ownDir } });
    expect((await exitOf(other)).code, other.tail()).toBe(1);
    expect(other.stderr).toContain(`HERALD_SECRET_KEY is not set, so this process uses the generated key file ${join(ownDir, 'secret.key')}`);
    expect(other.stderr).toMatch(/set the same HERALD_SECRET_KEY in every process/);
    // The key file it made is a real key, yet still not this database's.
    expect(readFileSync(join(ownDir, 'secret.key'), 'utf8').trim()).toMatch(/^[A-Za-z0-9+/]{43}=$/);
  });

  it('starts a second process with the same key, and both serve the same secrets', async () => {
    const org = await createKeys({ ...database, HERALD_DATA_DIR: dir(), HERALD_SECRET_KEY: firstKey }, `keycheck-${kind}`);
    const second = await spawnHerald({
      name: 'same-key',
      env: { ...database, HERALD_DATA_DIR: dir(), HERALD_SECRET_KEY: firstKey, HERALD_ALLOW_PRIVATE_NETWORKS: 'true' },
    });
    const created = await first.request('POST', CONNECTIONS, {
      auth: org,
      body: { type: 'webhook', configuration: { url: 'https://example.com/hook' } },
    });
    expect(created.status, created.text).toBe(201);
    const a = await first.request('GET', `${CONNECTIONS}/${created.body.data.id}/secret`, { auth: org });
    const b = await second.request('GET', `${CONNECTIONS}/${created.body.data.id}/secret`, { auth: org });
    expect(b.status, b.text).toBe(200);
    expect(b.body.data.secret).toBe(a.body.data.secret);
  });
});
