import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Credentials, DATABASES, type TestHerald, startHerald } from '../support/herald.js';
import { type Receiver, startReceiver } from '../support/receiver.js';
import { parcelEvent } from '../support/events.js';
import { createHook, parcelIdOf, publish, publishBatch, sleep, waitUntil } from './helpers.js';

/** Default per-connection in-flight cap (HERALD_MAX_IN_FLIGHT_PER_CONNECTION). */
const CAP = 10;

describe.each(DATABASES)('isolation on %s', (kind) => {
  let h: TestHerald;
  let org: Credentials;
  let dead: Receiver;
  let healthy: Receiver;

  beforeAll(async () => {
    h = await startHerald(kind, { HERALD_RETRY_SCHEDULE: '100ms' });
    org = await h.createOrg();
    dead = await startReceiver(() => {
      // never answers
    });
    healthy = await startReceiver();
  });
  afterAll(async () => {
    // Closing the silent endpoint first ends its hanging requests, so Herald stops quickly.
    await dead?.close();
    await healthy?.close();
    await h?.close();
  });

  it('delivers to a healthy endpoint within 1 s while another endpoint hangs with a backlog', async () => {
    await createHook(h, org, { url: dead.url, timeout_ms: 10_000, retry_attempts: 0 }, 'email.sent');
    await createHook(h, org, { url: healthy.url });
    const backlog = Array.from({ length: 200 }, (_, i) => ({ event_type: 'email.sent', data: { id: `stuck-${i}` } }));
    await publishBatch(h, org, backlog);
    // The dead endpoint now holds its full share of requests in flight.
    await dead.waitFor(CAP, 10_000);

    const published = new Map<number, number>();
    for (let i = 0; i < 5; i++) {
      const t0 = Date.now();
      await publish(h, org, parcelEvent({ parcelId: 30_000 + i }));
      published.set(30_000 + i, t0);
      await sleep(50);
    }
    const t1 = Date.now();
    await publishBatch(
      h,
      org,
      Array.from({ length: 20 }, (_, i) => parcelEvent({ parcelId: 31_000 + i })),
    );
    for (let i = 0; i < 20; i++) published.set(31_000 + i, t1);

    await healthy.waitFor(25, 5_000);
    for (const r of healthy.received) {
      const parcel = parcelIdOf(r);
      const late = r.at - (published.get(parcel) as number);
      expect(late, `parcel ${parcel} arrived ${late} ms after publishing`).toBeLessThanOrEqual(1000);
    }
    expect(new Set(healthy.received.map(parcelIdOf)).size).toBe(25);
    // The hanging endpoint never had more than its cap in flight.
    expect(dead.received).toHaveLength(CAP);
    await waitUntil('nothing more at the hanging endpoint', async () => {
      await sleep(300);
      return dead.received.length === CAP;
    });
  });

  it('honours HERALD_MAX_IN_FLIGHT_PER_CONNECTION', async () => {
    const capped = await startHerald(kind, { HERALD_MAX_IN_FLIGHT_PER_CONNECTION: '3' });
    const stuck = await startReceiver(() => {
      // never answers
    });
    const fine = await startReceiver();
    try {
      const o = await capped.createOrg();
      await createHook(capped, o, { url: stuck.url, timeout_ms: 10_000, retry_attempts: 0 }, 'email.sent');
      await createHook(capped, o, { url: fine.url, timeout_ms: 10_000, retry_attempts: 0 }, 'email.opened');
      await publishBatch(capped, o, Array.from({ length: 20 }, (_, i) => ({ event_type: 'email.sent', data: { id: `s-${i}` } })));
      await publishBatch(capped, o, Array.from({ length: 20 }, (_, i) => ({ event_type: 'email.opened', data: { id: `o-${i}` } })));
      await stuck.waitFor(3, 10_000);
      await fine.waitFor(20, 10_000);
      await sleep(700);
      expect(stuck.received).toHaveLength(3);
    } finally {
      await stuck.close();
      await fine.close();
      await capped.close();
    }
  });
});
