/**
 * Issue 10, defect 10: a claim that keeps failing once spun the loop (a wake-up cut every
 * pause short) and wrote the same error line again and again. Now claims back off
 * exponentially, the error is logged at most every 30 s, and delivery resumes by itself.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeys, ensureBuilt, killAll, spawnHerald } from '../support/process.js';
import { type Receiver, startReceiver } from '../support/receiver.js';
import { parcelEvent } from '../support/events.js';
import { createHook, publish, sleep, waitUntil } from './helpers.js';

describe('a persistent claim failure', () => {
  let dataDir: string;
  let receiver: Receiver;

  beforeAll(async () => {
    ensureBuilt();
    dataDir = mkdtempSync(join(tmpdir(), 'herald-backoff-'));
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await killAll();
    await receiver?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('backs off and logs it once, then delivers again once the database is fixed', { timeout: 60_000 }, async () => {
    const file = join(dataDir, 'herald.db');
    const env = {
      HERALD_DATA_DIR: dataDir,
      HERALD_DATABASE_URL: `sqlite:${file}`,
      HERALD_SECRET_KEY: randomBytes(32).toString('base64'),
      HERALD_ALLOW_PRIVATE_NETWORKS: 'true',
      HERALD_POLL_INTERVAL_MS: '50',
    };
    const org = await createKeys(env, 'backoff');
    const herald = await spawnHerald({ env, role: 'all' });
    await createHook(herald, org, { url: receiver.url });
    await publish(herald, org, parcelEvent({ parcelId: 4001 }));
    await waitUntil('the first delivery', () => receiver.received.length === 1);

    // The queue's table disappears from under the worker: every claim fails from now on.
    const db = new SQLite(file);
    db.exec('alter table deliveries rename to deliveries_away');
    const before = herald.logs.length;
    await sleep(4000);
    const failures = herald.logs.slice(before).filter((l) => l.msg === 'claiming deliveries failed; backing off');
    console.log(`faults: persistent claim error: ${failures.length} log line(s) in 4 s`);
    expect(failures.length).toBeGreaterThanOrEqual(1);
    expect(failures.length).toBeLessThanOrEqual(2);
    expect(herald.exit).toBeUndefined();

    db.exec('alter table deliveries_away rename to deliveries');
    db.close();
    await publish(herald, org, parcelEvent({ parcelId: 4002 }));
    // The back-off has grown to a few seconds by now; it is never more than 30 s.
    await waitUntil('the delivery after the fix', () => receiver.received.length === 2, 40_000);
    expect(herald.logs.some((l) => l.msg === 'claiming works again')).toBe(true);
  });
});
