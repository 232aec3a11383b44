import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropSchema, freshDatabaseEnv } from '../support/herald.js';
import { type HeraldProcess, createKeys, ensureBuilt, killAll, spawnHerald } from '../support/process.js';
import type { Credentials } from '../support/herald.js';
import { CONNECTIONS, EVENTS, SUBSCRIPTIONS } from '../delivery/helpers.js';
import { parcelEvent } from './helpers.js';

const POSTGRES = process.env.HERALD_TEST_POSTGRES_URL;

/**
 * Two API processes on one PostgreSQL database, each taking the same Idempotency-Keys at
 * once but in opposite orders. Each process's group commit claims many keys in one
 * transaction: claimed in arrival order, the two transactions waited for each other's
 * keys (a deadlock, answered 500 for the whole commit).
 */
describe.skipIf(!POSTGRES)('the same keys through two API processes in opposite orders (PostgreSQL)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-idem-'));
  const env: Record<string, string> = {
    HERALD_DATA_DIR: dataDir,
    HERALD_SECRET_KEY: randomBytes(32).toString('base64'),
    HERALD_ALLOW_PRIVATE_NETWORKS: 'true',
    HERALD_LOG_LEVEL: 'warn',
    HERALD_RATE_LIMIT_API: '0',
    HERALD_RATE_LIMIT_EVENTS: '0',
    ...freshDatabaseEnv('postgres', dataDir),
  };
  let a: HeraldProcess;
  let b: HeraldProcess;
  let org: Credentials;

  beforeAll(async () => {
    ensureBuilt();
    a = await spawnHerald({ env, role: 'api', name: 'api-a' });
    b = await spawnHerald({ env, role: 'api', name: 'api-b' });
    org = await createKeys(env, 'idem-race');
    const conn = await a.request('POST', CONNECTIONS, {
      auth: org,
      body: { type: 'webhook', configuration: { url: 'http://127.0.0.1:9/hook', auth_type: 'none' } },
    });
    expect(conn.status, conn.text).toBe(201);
    const sub = await a.request('POST', SUBSCRIPTIONS, {
      auth: org,
      body: { connection_id: conn.body.data.id, event_type: 'parcels.event.created' },
    });
    expect(sub.status, sub.text).toBe(201);
  });
  afterAll(async () => {
    await killAll();
    if (env.HERALD_DATABASE_SCHEMA) await dropSchema(env.HERALD_DATABASE_SCHEMA);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers every request, creates each key once, and both processes answer alike', async () => {
    const rounds = 4;
    const perRound = 60;
    for (let round = 0; round < rounds; round++) {
      const keys = Array.from({ length: perRound }, (_, i) => `r${round}-k${String(i).padStart(3, '0')}`);
      const post = (proc: HeraldProcess, key: string) =>
        proc.request('POST', EVENTS, {
          auth: org,
          body: parcelEvent({ parcelId: round * 1000 + keys.indexOf(key) }),
          headers: { 'Idempotency-Key': key },
        });
      const [fromA, fromB] = await Promise.all([
        Promise.all(keys.map((k) => post(a, k))),
        Promise.all([...keys].reverse().map((k) => post(b, k))),
      ]);
      const failed = [...fromA, ...fromB].filter((r) => r.status !== 202);
      expect(failed.map((r) => `${r.status} ${r.text}`)).toEqual([]);
      const byKeyB = new Map([...keys].reverse().map((k, i) => [k, fromB[i]]));
      keys.forEach((k, i) => expect(byKeyB.get(k)?.body, k).toEqual(fromA[i]?.body));
    }
    const client = new pg.Client({ connectionString: POSTGRES });
    await client.connect();
    try {
      const schema = env.HERALD_DATABASE_SCHEMA as string;
      const count = async (table: string) =>
        Number((await client.query(`select count(*) as n from "${schema}".${table} where organization_id = $1`, [org.organization_id])).rows[0].n);
      expect(await count('events')).toBe(rounds * perRound);
      expect(await count('deliveries')).toBe(rounds * perRound);
      expect(await count('idempotency_keys')).toBe(rounds * perRound);
    } finally {
      await client.end();
    }
  });
});
