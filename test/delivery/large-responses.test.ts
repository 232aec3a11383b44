import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestHerald, startHerald } from '../support/herald.js';
import { type Receiver, startReceiver } from '../support/receiver.js';
import { parcelEvent } from '../support/events.js';
import { ATTEMPTS, DELIVERIES, createHook, listAll, publishBatch, sleep, waitUntil } from './helpers.js';

/**
 * Issue 10, defect 2: about 750 results with 64 KiB bodies once exceeded the SQLite queue
 * thread's heap; the thread died, its batch was lost and most deliveries were sent twice.
 */
describe('large responses at volume (SQLite queue thread)', () => {
  let h: TestHerald;
  let receiver: Receiver;
  const body = 'x'.repeat(64 * 1024);

  beforeAll(async () => {
    h = await startHerald('sqlite', {
      HERALD_LEASE_MS: '12000',
      HERALD_MAX_TIMEOUT_MS: '10000',
      HERALD_MAX_IN_FLIGHT_PER_CONNECTION: '100',
      HERALD_CONNECTIONS_PER_ORIGIN: '1000',
    });
    // Every request is held until all 1,000 are in flight, then all are answered at once, so
    // that their results (and bodies) reach the results writer together, as under load.
    const held: Array<() => void> = [];
    receiver = await startReceiver((_req, res) => {
      held.push(() => res.writeHead(200, { 'content-type': 'text/plain' }).end(body));
      if (held.length >= 1000) for (const answer of held.splice(0)) answer();
    });
  });
  afterAll(async () => {
    await receiver?.close();
    await h?.close();
  });

  it('1,000 deliveries answered with 64 KiB each: each sent once, each body kept as an 8 KiB prefix', { timeout: 120_000 }, async () => {
    const org = await h.createOrg();
    const hooks: Awaited<ReturnType<typeof createHook>>[] = [];
    for (let i = 0; i < 10; i++) hooks.push(await createHook(h, org, { url: `${receiver.url}?c=${i}`, timeout_ms: 10_000 }));
    for (let i = 0; i < 100; i += 50) {
      await publishBatch(h, org, Array.from({ length: 50 }, (_, j) => parcelEvent({ parcelId: 2000 + i + j })));
    }
    await waitUntil(
      'all 1,000 to succeed',
      async () => {
        for (const hook of hooks) {
          const list = await listAll(h, org, DELIVERIES, { subscription_id: hook.subscription.id, status: 'succeeded' });
          if (list.length !== 100) return false;
        }
        return true;
      },
      90_000,
      500,
    );
    await sleep(13_000); // past the lease: a lost batch would be sent again by now
    const ids = receiver.received.map((r) => String(r.headers['webhook-id']));
    const duplicates = ids.length - new Set(ids).size;
    console.log(`faults: 64 KiB responses: accepted=1000 delivered=${new Set(ids).size} duplicates=${duplicates}`);
    expect(new Set(ids).size).toBe(1000);
    expect(duplicates).toBe(0);
    const latest = await h.request('GET', `${ATTEMPTS}?limit=1`, { auth: org });
    const attempt = latest.body.data[0];
    expect(Buffer.byteLength(attempt.response_body)).toBe(8192);
    expect(body.startsWith(attempt.response_body)).toBe(true);
  });
});
