/**
 * The retention pass on synthetic rows: an event with a fan-out larger than a batch is emptied
 * over several short transactions, none deleting more than the batch; events with a pending or
 * parked delivery stay whole; old broadcast tests and stats minutes go. On PostgreSQL one
 * process at a time prunes (the others skip). On SQLite the freed pages go back to the file
 * system (incremental vacuum).
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRetention } from '../../src/delivery/retention.js';
import { minuteOf } from '../../src/store/delivery-outcomes.js';
import type { DeliveryStatus } from '../../src/store/schema.js';
import { tryLockRetention } from '../../src/store/advisory-locks.js';
import { freePages, releaseFreePages } from '../../src/store/sqlite/vacuum.js';
import { createHook } from '../delivery/helpers.js';
import { DATABASES, type TestHerald, startHerald } from '../support/herald.js';

const RETENTION = 60_000;

describe.each(DATABASES)('the retention pass on %s', (kind) => {
  let h: TestHerald;
  let org: number;
  let subscriptionId: number;
  let connectionId: number;
  const now = Date.now();
  const old = now - 2 * RETENTION;

  beforeAll(async () => {
    h = await startHerald(kind, {}, { workers: false });
    const key = await h.createOrg();
    org = key.organization_id;
    const hook = await createHook(h, key, { url: 'http://127.0.0.1:9/unused' });
    subscriptionId = hook.subscription.id;
    connectionId = hook.connection.id;
  });
  afterAll(() => h?.close());

  const db = () => h.herald.store.db;

  /** An event created at `at` with one delivery per status given, each with one attempt (a 2 KiB answer). */
  async function event(at: number, statuses: DeliveryStatus[]): Promise<number> {
    const [{ id }] = (await db()
      .insertInto('events')
      .values({ organization_id: org, event_type: 'parcels.event.created', payload: '{}', profile: null, delivery_count: statuses.length, created_at: at })
      .returning('id')
      .execute()) as [{ id: number }];
    for (let i = 0; i < statuses.length; i += 500) {
      const rows = statuses.slice(i, i + 500).map((status) => ({
        organization_id: org,
        event_id: id,
        subscription_id: subscriptionId,
        connection_id: connectionId,
        status,
        attempt_count: 1,
        next_attempt_at: at,
        last_status: 200,
        last_error: null,
        created_at: at,
        updated_at: at,
      }));
      const deliveries = await db().insertInto('deliveries').values(rows).returning('id').execute();
      await db()
        .insertInto('attempts')
        .values(
          deliveries.map((d) => ({
            organization_id: org,
            delivery_id: d.id,
            subscription_id: subscriptionId,
            connection_id: connectionId,
            number: 1,
            is_test: 0,
            started_at: at,
            duration_ms: 1,
            url: 'http://127.0.0.1:9/unused',
            request_headers: '{}',
            response_status: 200,
            response_body: 'x'.repeat(2048),
            error: null,
          })),
        )
        .execute();
    }
    return id;
  }
  /** Ids grow with time (retention's walk stops at the first young event): the young rows of earlier tests go first. */
  const dropYoung = () => db().deleteFrom('events').where('created_at', '>', old + 10).execute();
  const count = async (table: 'events' | 'deliveries' | 'attempts' | 'delivery_outcomes', where?: [string, number]) => {
    let q = db().selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n'));
    if (where) q = q.where(where[0] as never, '=', where[1] as never);
    return Number((await q.executeTakeFirstOrThrow()).n);
  };

  it('empties a large fan-out over several batches and keeps unfinished and young events whole', async () => {
    const big = await event(old, Array<DeliveryStatus>(1_250).fill('succeeded'));
    const failed = await event(old + 1, ['failed', 'succeeded']);
    const pending = await event(old + 2, ['succeeded', 'pending']);
    const parked = await event(old + 3, ['parked']);
    const quiet = await event(old + 4, []);
    const young = await event(now - 1000, ['succeeded']);
    const batches: Array<[string, number]> = [];
    const counts = await runRetention(h.herald.store, now, RETENTION, { batch: 500, onRemoved: (t, n) => batches.push([t, n]) });
    expect(counts).toMatchObject({ events: 3, deliveries: 1_252, attempts: 1_252, skipped: false });
    const perStep = batches.filter(([t]) => t === 'deliveries').map(([, n]) => n);
    expect(Math.max(...perStep)).toBeLessThanOrEqual(500);
    expect(perStep.length).toBeGreaterThanOrEqual(3);
    for (const gone of [big, failed, quiet]) expect(await count('events', ['id', gone])).toBe(0);
    for (const kept of [pending, parked, young]) expect(await count('events', ['id', kept])).toBe(1);
    expect(await count('deliveries', ['event_id', pending])).toBe(2);
    expect(await count('deliveries', ['event_id', parked])).toBe(1);
    expect(await count('deliveries', ['event_id', young])).toBe(1);
    expect(await count('deliveries', ['event_id', big])).toBe(0);
    // Nothing is left for a second pass.
    expect(await runRetention(h.herald.store, now, RETENTION)).toMatchObject({ events: 0, deliveries: 0, attempts: 0 });
  });

  it('removes old broadcast tests and stats minutes older than two hours', async () => {
    const test = (at: number) => ({
      organization_id: org,
      delivery_id: null,
      subscription_id: subscriptionId,
      connection_id: connectionId,
      number: 1,
      is_test: 1,
      started_at: at,
      duration_ms: 1,
      url: 'u',
      request_headers: '{}',
      response_status: 200,
      response_body: null,
      error: null,
    });
    await db().insertInto('attempts').values([test(old), test(old - 1), test(now)]).execute();
    await db()
      .insertInto('delivery_outcomes')
      .values([
        { minute: minuteOf(now - 3 * 3_600_000), shard: 99, succeeded: 1, failed: 0 },
        { minute: minuteOf(now), shard: 99, succeeded: 1, failed: 0 },
      ])
      .execute();
    const counts = await runRetention(h.herald.store, now, RETENTION);
    expect(counts.test_attempts).toBe(2);
    expect(counts.delivery_outcomes).toBe(1);
    expect(await count('attempts', ['is_test', 1])).toBe(1);
    expect(await count('delivery_outcomes', ['shard', 99])).toBe(1);
  });

  it.runIf(kind === 'postgres')('skips its pass while another process holds the retention lock', async () => {
    await dropYoung();
    await event(old, ['succeeded']);
    let release: () => void = () => undefined;
    let locked: () => void = () => undefined;
    const isLocked = new Promise<void>((resolve) => {
      locked = resolve;
    });
    const holder = h.herald.store.transaction(async (tx) => {
      expect(await tryLockRetention(tx)).toBe(true);
      locked();
      await new Promise<void>((resolve) => {
        release = resolve;
      });
    });
    await isLocked;
    expect(await runRetention(h.herald.store, now, RETENTION)).toMatchObject({ skipped: true, events: 0 });
    release();
    await holder;
    expect(await runRetention(h.herald.store, now, RETENTION)).toMatchObject({ skipped: false, events: 1 });
  });

  it.runIf(kind === 'sqlite')('gives the freed pages back to the file system (auto_vacuum = INCREMENTAL)', async () => {
    const store = h.herald.store;
    const handle = store.raw?.handle;
    expect(handle?.pragma('auto_vacuum', { simple: true })).toBe(2);
    await dropYoung();
    await event(old, Array<DeliveryStatus>(2_000).fill('succeeded'));
    const file = join(h.dataDir, 'herald.db');
    const checkpoint = () => handle?.pragma('wal_checkpoint(TRUNCATE)');
    checkpoint();
    const full = statSync(file).size;
    await runRetention(store, now, RETENTION);
    const free = freePages(store) as number;
    expect(free).toBeGreaterThan(500);
    const released = await releaseFreePages(store, free);
    expect(released).toBe(free);
    expect(freePages(store)).toBe(0);
    checkpoint();
    const after = statSync(file).size;
    expect(after).toBeLessThan(full - released * 4096 * 0.9);
  });
});
