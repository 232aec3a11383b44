/**
 * Leases shorter than the work queued behind them (built CLI, one process).
 *
 * One connection, one request at a time (HERALD_MAX_IN_FLIGHT_PER_CONNECTION=1), a receiver
 * that answers after ~1.5 s, timeout_ms 2000, HERALD_LEASE_MS=4000: a claim leases several
 * deliveries at once, and the ones waiting in the lane see their lease run down while the
 * first are sent. A job must not start with less lease left than its timeout (else its lease
 * expires mid-request and it is claimed and sent again): 8 deliveries make exactly 8 requests,
 * and the lease each request starts with (the delivery's next_attempt_at, read while the
 * request is open) covers its timeout.
 *
 * And `POST /deliveries/{id}/retry` on a delivery whose request is open answers 409 (JSON:API
 * error) and does not make a second request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Credentials } from '../support/herald.js';
import { type HeraldProcess, createKeys, spawnHerald } from '../support/process.js';
import { DELIVERIES, createHook, getDelivery, listAll, publishBatch, sleep, waitForStatus, waitUntil } from '../delivery/helpers.js';
import { parcelEvent } from '../support/events.js';
import type { Received } from '../support/receiver.js';
import { expectAlive, publishParcels, waitDrained } from './support/api.js';
import { isJsonApiError } from './support/ingest.js';
import { type FaultReceiver, startFaultReceiver } from './support/receiver.js';
import { FAULT_DATABASES, type FaultWorld, faultWorld } from './support/setup.js';
import { keysFor, parcelOf, report, reportFigures, tally, webhookId } from './support/tally.js';

const LEASE_MS = 4000;
const ANSWER_MS = 1500;
const DELIVERIES_TOTAL = 8;
const TIMEOUT_MS = 2000;

describe.each(FAULT_DATABASES)('leases shorter than the queued work on %s', (kind) => {
  let world: FaultWorld;
  let slow: FaultReceiver;
  let holding: FaultReceiver;
  let herald: HeraldProcess;
  let org: Credentials;

  beforeAll(async () => {
    world = faultWorld(kind, {
      HERALD_MAX_IN_FLIGHT_PER_CONNECTION: '1',
      HERALD_MAX_TIMEOUT_MS: '2000',
      HERALD_LEASE_MS: String(LEASE_MS),
    });
    slow = await startFaultReceiver({ delayMs: () => ANSWER_MS });
    holding = await startFaultReceiver();
    org = await createKeys(world.env, `faults-lease-${kind}`);
    herald = await spawnHerald({ env: world.env, role: 'all', name: `herald-lease-${kind}` });
  }, 60_000);
  afterAll(async () => {
    await world?.cleanup();
    await slow?.close();
    await holding?.close();
  });

  it('sends 8 queued deliveries with exactly 8 requests', { timeout: 90_000 }, async () => {
    const path = '/one-lane';
    const hook = await createHook(herald, org, { url: `http://127.0.0.1:${slow.port}${path}`, timeout_ms: TIMEOUT_MS });
    const ids = Array.from({ length: DELIVERIES_TOTAL }, (_, i) => i + 1);
    const events = await publishBatch(herald, org, ids.map((parcelId) => parcelEvent({ parcelId })));
    const eventOfParcel = new Map(ids.map((p, i) => [p, events[i].id as number]));
    const rows = await listAll(herald, org, DELIVERIES, { subscription_id: hook.subscription.id });
    const deliveryOfEvent = new Map(rows.map((d) => [d.event_id as number, d.id as number]));
    const expected = keysFor([path], ids);
    // While each request is open (the receiver holds it 1.5 s), read its lease: the pending
    // delivery's next_attempt_at. What is left of it when the request started must cover the
    // timeout, else the lease can run out mid-request and the delivery be claimed again.
    const leaseLeft: number[] = [];
    let looked = 0;
    const arrived = await waitUntil(
      'all 8 received',
      async () => {
        for (; looked < slow.received.length; looked++) {
          const r = slow.received[looked] as Received;
          const id = deliveryOfEvent.get(eventOfParcel.get(parcelOf(r)) as number) as number;
          const d = await getDelivery(herald, org, id);
          if (d.status === 'pending' && d.next_attempt_at) leaseLeft.push(Date.parse(d.next_attempt_at) - r.at);
        }
        return tally(slow.received, expected).lost === 0;
      },
      45_000,
      20,
    ).then(
      () => true,
      () => false,
    );
    const drainMs = await waitDrained(herald, org, 20_000).catch(() => -1);
    // One more lease and answer: a re-claimed delivery would be sent again by now.
    await sleep(LEASE_MS + ANSWER_MS);
    const count = tally(slow.received, expected);
    const succeeded = await listAll(herald, org, DELIVERIES, { status: 'succeeded' });
    const timedOut = (await listAll(herald, org, DELIVERIES)).filter((d) => /timed out/i.test(String(d.last_error ?? ''))).length;
    const firstAt = slow.received[0]?.at ?? 0;
    const arrivals = slow.received.map((r) => ((r.at - firstAt) / 1000).toFixed(1)).join(',');
    report(`lease-vs-work ${kind}`, count, { requests: slow.received.length, arrivals_s: arrivals, min_lease_left_ms: leaseLeft.length ? Math.min(...leaseLeft) : 'n/a', succeeded: succeeded.length, timed_out: timedOut, drain_ms: drainMs });

    expectAlive([herald]);
    expect.soft(arrived, herald.tail()).toBe(true);
    expect.soft(count.lost).toBe(0);
    expect.soft(slow.received.length, `webhook-ids sent more than once: ${[...count.repeated]}`).toBe(DELIVERIES_TOTAL);
    expect.soft(count.duplicates).toBe(0);
    expect.soft(succeeded).toHaveLength(DELIVERIES_TOTAL);
    expect.soft(leaseLeft.length, 'the lease of each open request was read').toBe(DELIVERIES_TOTAL);
    // 100 ms for the time between the receiver's clock reading and Herald's.
    expect.soft(Math.min(...leaseLeft), `lease left at the start of each request: ${leaseLeft.join(',')} ms`).toBeGreaterThanOrEqual(TIMEOUT_MS - 100);
  });

  it('answers 409 to a retry of a delivery whose request is open, and sends it once', { timeout: 60_000 }, async () => {
    const path = '/held';
    const hook = await createHook(herald, org, { url: `http://127.0.0.1:${holding.port}${path}`, timeout_ms: 2000 });
    holding.hold(true);
    await publishParcels(herald, org, 1001, 1);
    await waitUntil('the request open at the receiver', () => holding.open() === 1, 20_000, 5);
    const [delivery] = await listAll(herald, org, DELIVERIES, { subscription_id: hook.subscription.id });
    const retry = await herald.request('POST', `${DELIVERIES}/${delivery.id}/retry`, { auth: org });
    const stillOpen = holding.open();
    holding.hold(false);
    holding.release();
    const done = await waitForStatus(herald, org, delivery.id, 'succeeded', 20_000).catch(() => undefined);
    // Past the lease: a second request, if one was queued by the retry, has come by now.
    await sleep(LEASE_MS + 500);
    const requests = holding.received.filter((r) => r.path === path);
    reportFigures(`retry-in-flight ${kind}`, {
      retry_status: retry.status,
      json_api_error: isJsonApiError(retry.text, 409),
      open_during_retry: stillOpen,
      requests: requests.length,
      webhook_ids: new Set(requests.map(webhookId)).size,
      final_status: done?.status ?? 'not succeeded',
      attempt_count: done?.attempt_count ?? -1,
    });

    expect.soft(stillOpen, 'the request was still open when the retry was asked for').toBe(1);
    expect.soft(retry.status, retry.text).toBe(409);
    expect.soft(isJsonApiError(retry.text, 409), `a JSON:API error body: ${retry.text}`).toBe(true);
    expect.soft(done?.status).toBe('succeeded');
    expect.soft(requests, 'exactly one request for the delivery').toHaveLength(1);
  });
});
