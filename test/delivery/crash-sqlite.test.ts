/**
 * Durability on SQLite with the built CLI: `kill -9` while deliveries are in flight (and while
 * events are being published) loses nothing that was accepted; a restarted process on the
 * same data folder delivers every event at least once once the 3 s leases run out.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Credentials } from '../support/herald.js';
import { type HeraldProcess, createKeys, ensureBuilt, killAll, spawnHerald } from '../support/process.js';
import { type Receiver, startReceiver } from '../support/receiver.js';
import { parcelEvent } from '../support/events.js';
import { DELIVERIES, EVENTS, createHook, listAll, parcelIdOf, publishBatch, waitUntil } from './helpers.js';

const EVENTS_TOTAL = 1000;
const BATCH = 100;

describe('kill -9 on SQLite (built CLI)', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let receiver: Receiver;
  let org: Credentials;
  let answering = 0;
  let current: HeraldProcess | undefined;

  /** Deliveries seen, by `<path> <parcel_id>`, with the webhook-ids they came with. */
  const seen = () => {
    const keys = new Map<string, Set<string>>();
    for (const r of receiver.received) {
      const key = `${r.path} ${parcelIdOf(r)}`;
      const ids = keys.get(key) ?? new Set<string>();
      ids.add(String(r.headers['webhook-id']));
      keys.set(key, ids);
    }
    return keys;
  };

  beforeAll(async () => {
    ensureBuilt();
    dataDir = mkdtempSync(join(tmpdir(), 'herald-crash-'));
    env = {
      HERALD_DATA_DIR: dataDir,
      HERALD_DATABASE_URL: `sqlite:${join(dataDir, 'herald.db')}`,
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
      }, 20 + Math.floor(Math.random() * 30));
    });
    org = await createKeys(env, 'crash-sqlite');
  });
  afterAll(async () => {
    await killAll();
    await receiver?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('delivers every accepted event at least once after kill -9 mid-delivery and a restart', { timeout: 240_000 }, async () => {
    current = await spawnHerald({ env, role: 'all', name: 'first' });
    const a = await createHook(current, org, { url: `http://127.0.0.1:${receiver.port}/a` });
    const b = await createHook(current, org, { url: `http://127.0.0.1:${receiver.port}/b` });
    for (let i = 0; i < EVENTS_TOTAL; i += BATCH) {
      const accepted = await publishBatch(
        current,
        org,
        Array.from({ length: BATCH }, (_, j) => parcelEvent({ parcelId: i + j + 1 })),
      );
      expect(accepted.every((e) => e.deliveries === 2)).toBe(true);
    }
    // Kill while requests are open at the receiver and most deliveries are still to do.
    await waitUntil('deliveries under way', () => receiver.received.length >= 300 && answering > 0, 30_000, 1);
    const inFlight = answering;
    const first = current;
    await first.kill();
    expect(first.exit?.signal).toBe('SIGKILL');
    const seenAtKill = receiver.received.length;
    expect(inFlight).toBeGreaterThan(0);
    expect(seenAtKill, 'the process was killed before it had delivered everything').toBeLessThan(2 * EVENTS_TOTAL);

    current = await spawnHerald({ env, role: 'all', name: 'restarted' });
    await waitUntil(
      'every delivery seen',
      () => seen().size === 2 * EVENTS_TOTAL,
      150_000,
      100,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; seen ${seen().size} of ${2 * EVENTS_TOTAL}\n${current?.tail()}`);
    });
    const keys = seen();
    for (const path of ['/a', '/b']) {
      for (let p = 1; p <= EVENTS_TOTAL; p++) expect(keys.has(`${path} ${p}`), `${path} parcel ${p}`).toBe(true);
    }
    // A delivery keeps its webhook-id across the crash: one id per delivery, 2000 ids in all.
    for (const [key, ids] of keys) expect(ids.size, key).toBe(1);
    expect(new Set(receiver.received.map((r) => r.headers['webhook-id'])).size).toBe(2 * EVENTS_TOTAL);

    // And the database agrees: every delivery succeeded, none pending or failed.
    const api = current;
    await waitUntil('no pending deliveries', async () => (await listAll(api, org, DELIVERIES, { status: 'pending' })).length === 0, 30_000, 250);
    expect(await listAll(api, org, DELIVERIES, { status: 'failed' })).toEqual([]);
    expect(await listAll(api, org, DELIVERIES, { subscription_id: a.subscription.id, status: 'succeeded' })).toHaveLength(EVENTS_TOTAL);
    expect(await listAll(api, org, DELIVERIES, { subscription_id: b.subscription.id, status: 'succeeded' })).toHaveLength(EVENTS_TOTAL);
    expect(await listAll(api, org, EVENTS)).toHaveLength(EVENTS_TOTAL);
  });

  it('loses no accepted event when killed while events are being published', { timeout: 180_000 }, async () => {
    const publisher = current as HeraldProcess;
    receiver.received.length = 0;
    const accepted: number[] = [];
    let next = 100_001;
    let stop = false;
    const publishing = (async () => {
      while (!stop) {
        const ids = Array.from({ length: 50 }, () => next++);
        try {
          const res = await publisher.request('POST', `${EVENTS}/batch`, {
            auth: org,
            body: { events: ids.map((parcelId) => parcelEvent({ parcelId })) },
          });
          if (res.status === 202) accepted.push(...ids);
        } catch {
          return; // the process is gone: this batch's fate is unknown, and that is fine
        }
      }
    })();
    await waitUntil('some batches accepted and delivering', () => accepted.length >= 300 && answering > 0, 30_000, 1);
    await publisher.kill();
    stop = true;
    await publishing;
    expect(accepted.length).toBeGreaterThanOrEqual(300);

    current = await spawnHerald({ env, role: 'all', name: 'after-publish-crash' });
    const wanted = accepted.flatMap((p) => [`/a ${p}`, `/b ${p}`]);
    await waitUntil(
      'every accepted event delivered',
      () => {
        const keys = seen();
        return wanted.every((k) => keys.has(k));
      },
      120_000,
      100,
    ).catch((error: Error) => {
      const keys = seen();
      throw new Error(`${error.message}; missing ${wanted.filter((k) => !keys.has(k)).length} of ${wanted.length}`);
    });
  });
});
