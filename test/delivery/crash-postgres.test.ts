/**
 * Scale-out on PostgreSQL with the built CLI: one `--role api` and three `--role worker`
 * processes on one fresh schema. Without failures every event is delivered exactly once;
 * after `kill -9` of a worker in mid-flight every event is still delivered at least once.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Credentials, dropSchema, freshDatabaseEnv } from '../support/herald.js';
import { type HeraldProcess, createKeys, ensureBuilt, killAll, spawnHerald } from '../support/process.js';
import { type Receiver, startReceiver } from '../support/receiver.js';
import { parcelEvent } from '../support/events.js';
import { DELIVERIES, createHook, listAll, parcelIdOf, publishBatch, sleep, waitUntil } from './helpers.js';

const POSTGRES = process.env.HERALD_TEST_POSTGRES_URL;
const suite = POSTGRES ? describe : describe.skip;
const title = POSTGRES
  ? 'kill -9 on PostgreSQL: one API process, three workers (built CLI)'
  : 'kill -9 on PostgreSQL — skipped: set HERALD_TEST_POSTGRES_URL to run it';

const EVENTS_TOTAL = 1000;
const BATCH = 100;

suite(title, () => {
  let dataDir: string;
  let env: Record<string, string>;
  let receiver: Receiver;
  let api: HeraldProcess;
  const workers: HeraldProcess[] = [];
  let answering = 0;
  let delay = () => 5 + Math.floor(Math.random() * 10);

  /** Requests at one path, grouped by parcel_id. */
  const byParcel = (path: string) => {
    const out = new Map<number, string[]>();
    for (const r of receiver.received) {
      if (r.path !== path) continue;
      const p = parcelIdOf(r);
      out.set(p, [...(out.get(p) ?? []), String(r.headers['webhook-id'])]);
    }
    return out;
  };
  const publishAll = async (org: Credentials, first: number) => {
    for (let i = 0; i < EVENTS_TOTAL; i += BATCH) {
      const accepted = await publishBatch(
        api,
        org,
        Array.from({ length: BATCH }, (_, j) => parcelEvent({ parcelId: first + i + j })),
      );
      expect(accepted.every((e) => e.deliveries === 1)).toBe(true);
    }
  };
  const diagnostics = () => [api, ...workers].map((p) => `--- ${p.name} ---\n${p.tail(15)}`).join('\n');

  beforeAll(async () => {
    ensureBuilt();
    dataDir = mkdtempSync(join(tmpdir(), 'herald-pg-crash-'));
    env = {
      ...freshDatabaseEnv('postgres', dataDir),
      HERALD_DATA_DIR: dataDir,
      HERALD_SECRET_KEY: randomBytes(32).toString('base64'),
      HERALD_ALLOW_PRIVATE_NETWORKS: 'true',
      HERALD_LEASE_MS: '3000',
      HERALD_MAX_TIMEOUT_MS: '1000',
      HERALD_RETRY_SCHEDULE: '100ms,200ms,400ms',
    };
    receiver = await startReceiver((_req, res) => {
      answering++;
      setTimeout(() => {
        answering--;
        if (!res.destroyed) res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
      }, delay());
    });
    // `keys create` migrates the fresh schema before the four processes start on it.
    await createKeys(env, 'pg-crash-setup');
    const started = await Promise.all([
      spawnHerald({ env, role: 'api', name: 'api' }),
      spawnHerald({ env, role: 'worker', name: 'worker-1' }),
      spawnHerald({ env, role: 'worker', name: 'worker-2' }),
      spawnHerald({ env, role: 'worker', name: 'worker-3' }),
    ]);
    api = started[0];
    workers.push(...started.slice(1));
  }, 120_000);

  afterAll(async () => {
    await killAll();
    await receiver?.close();
    if (env?.HERALD_DATABASE_SCHEMA) await dropSchema(env.HERALD_DATABASE_SCHEMA);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('delivers every event exactly once when no process dies', { timeout: 240_000 }, async () => {
    const org = await createKeys(env, 'pg-phase-1');
    await createHook(api, org, { url: `http://127.0.0.1:${receiver.port}/phase-1` });
    await publishAll(org, 1);
    await waitUntil('every event of phase 1', () => byParcel('/phase-1').size === EVENTS_TOTAL, 180_000, 100).catch(
      (error: Error) => {
        throw new Error(`${error.message}; seen ${byParcel('/phase-1').size}\n${diagnostics()}`);
      },
    );
    await waitUntil('no pending deliveries', async () => (await listAll(api, org, DELIVERIES, { status: 'pending' })).length === 0, 60_000, 250);
    await sleep(500);
    const seen = byParcel('/phase-1');
    const duplicates = [...seen].filter(([, ids]) => ids.length > 1);
    expect(duplicates.map(([p, ids]) => `${p}×${ids.length}`), 'parcels delivered more than once').toEqual([]);
    const ids = receiver.received.filter((r) => r.path === '/phase-1').map((r) => r.headers['webhook-id']);
    expect(ids).toHaveLength(EVENTS_TOTAL);
    expect(new Set(ids).size).toBe(EVENTS_TOTAL);
    expect(await listAll(api, org, DELIVERIES, { status: 'succeeded' })).toHaveLength(EVENTS_TOTAL);
    for (const w of workers) expect(w.exit, `${w.name} is still running`).toBeUndefined();
  });

  it('delivers every event at least once after kill -9 of a worker in mid-flight', { timeout: 240_000 }, async () => {
    delay = () => 20 + Math.floor(Math.random() * 30);
    const org = await createKeys(env, 'pg-phase-2');
    await createHook(api, org, { url: `http://127.0.0.1:${receiver.port}/phase-2` });
    const logsBefore = new Map(workers.map((w) => [w, w.logs.length]));
    await publishAll(org, 100_001);
    // The victim: a worker that is delivering phase-2 events right now.
    const attempts = (w: HeraldProcess) =>
      w.logs.slice(logsBefore.get(w)).filter((l) => l.msg === 'delivery attempt').length;
    const victim = await waitUntil(
      'a worker delivering phase 2 while requests are open',
      () => {
        if (byParcel('/phase-2').size < 100 || answering === 0) return undefined;
        return [...workers].sort((x, y) => attempts(y) - attempts(x)).find((w) => attempts(w) > 0);
      },
      60_000,
      5,
    );
    await victim.kill();
    expect(victim.exit?.signal).toBe('SIGKILL');
    const seenAtKill = byParcel('/phase-2').size;
    expect(seenAtKill, 'killed before everything was delivered').toBeLessThan(EVENTS_TOTAL);

    await waitUntil('every event of phase 2', () => byParcel('/phase-2').size === EVENTS_TOTAL, 180_000, 100).catch(
      (error: Error) => {
        throw new Error(`${error.message}; seen ${byParcel('/phase-2').size} (${seenAtKill} at the kill)\n${diagnostics()}`);
      },
    );
    const seen = byParcel('/phase-2');
    for (let p = 100_001; p < 100_001 + EVENTS_TOTAL; p++) expect(seen.has(p), `parcel ${p}`).toBe(true);
    // Redeliveries keep their webhook-id, so a receiver can drop them.
    for (const [p, ids] of seen) expect(new Set(ids).size, `parcel ${p}`).toBe(1);
    await waitUntil('no pending deliveries', async () => (await listAll(api, org, DELIVERIES, { status: 'pending' })).length === 0, 60_000, 250);
    expect(await listAll(api, org, DELIVERIES, { status: 'failed' })).toEqual([]);
    const survivors = workers.filter((w) => w !== victim);
    for (const w of survivors) expect(w.exit, `${w.name} is still running`).toBeUndefined();
  });
});
