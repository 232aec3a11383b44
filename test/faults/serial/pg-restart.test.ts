/**
 * PostgreSQL restarted under load (built CLI): one API and two worker processes on one
 * schema, steady ingest, and mid-load the server itself is restarted
 * (`pg_ctlcluster … main restart`). This stops the server every other test shares, so it
 * lives in test/faults/serial/ and runs alone (vitest.serial.config.ts).
 *
 * Every process survives, no accepted event is lost, API answers stay 202 or 503 with a
 * JSON:API error, and wake-ups still work afterwards: with HERALD_POLL_INTERVAL_MS=60000 an
 * event published to idle workers after the restart can only arrive quickly through
 * LISTEN/NOTIFY. The delay is printed; the test asserts only that it beats the poll interval.
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parcelEvent } from '../../support/events.js';
import { createHook, publish, sleep, waitUntil } from '../../delivery/helpers.js';
import { expectAlive, tails, waitDrained } from '../support/api.js';
import { type Cluster, startCluster } from '../support/cluster.js';
import { badOutcomes, startIngest } from '../support/ingest.js';
import { type FaultReceiver, between, startFaultReceiver } from '../support/receiver.js';
import { type FaultWorld, describePostgres, faultWorld, pgQuery } from '../support/setup.js';
import { keysFor, parcelOf, report, reportFigures, tally } from '../support/tally.js';

const POLL_INTERVAL_MS = 60_000;
const PATHS = ['/restart/1', '/restart/2'];

async function restartPostgres(): Promise<number> {
  const version = readdirSync('/etc/postgresql')[0] as string;
  const start = Date.now();
  await promisify(execFile)('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'restart'], { timeout: 60_000 });
  // Ready again when it answers a query.
  await waitUntil('PostgreSQL answering again', () => pgQuery('select 1').then(() => true, () => false), 30_000, 200);
  return Date.now() - start;
}

describePostgres('PostgreSQL restarted mid-load (1 API + 2 workers)', () => {
  let world: FaultWorld;
  let receiver: FaultReceiver;
  let cluster: Cluster;

  beforeAll(async () => {
    world = faultWorld('postgres', {
      HERALD_MAX_TIMEOUT_MS: '2000',
      HERALD_LEASE_MS: '4000',
      HERALD_POLL_INTERVAL_MS: String(POLL_INTERVAL_MS),
    });
    receiver = await startFaultReceiver({ delayMs: between(5, 30) });
  });
  afterAll(async () => {
    await world?.cleanup();
    await receiver?.close();
  });

  /** Publishes one event to idle workers; answers ms until its first request arrived, or -1. */
  const probe = async (org: Parameters<typeof publish>[1], parcelId: number, timeoutMs: number) => {
    const start = Date.now();
    await publish(cluster.api, org, parcelEvent({ parcelId }));
    return waitUntil('the probe event delivered', () => receiver.received.some((r) => parcelOf(r) === parcelId), timeoutMs, 10).then(
      () => Date.now() - start,
      () => -1,
    );
  };

  it('survives a server restart: nothing lost, and LISTEN/NOTIFY wake-ups work afterwards', { timeout: 150_000 }, async () => {
    const started = await startCluster(world, 'faults-pg-restart');
    cluster = started.cluster;
    const { org } = started;
    for (const path of PATHS) await createHook(cluster.api, org, { url: `http://127.0.0.1:${receiver.port}${path}`, timeout_ms: 2000 });
    await sleep(1000);
    const wakeBefore = await probe(org, 9_000_001, 10_000);

    const ingest = startIngest({ target: () => cluster.api.baseUrl, org, firstParcelId: 1, batchSize: 20, pauseMs: 20 });
    await waitUntil('ingest and delivery under way', () => ingest.accepted.length >= 500 && receiver.received.length >= 200, 30_000, 50);
    const restartMs = await restartPostgres();
    await sleep(4000);
    await ingest.stop();

    const expected = keysFor(PATHS, ingest.accepted);
    const arrived = await waitUntil('every accepted event delivered', () => tally(receiver.received, expected).lost === 0, 30_000, 200).then(
      () => true,
      () => false,
    );
    const drained = await waitDrained(cluster.api, org, 10_000).then(
      () => true,
      () => false,
    );
    // Idle workers now: only a wake-up, or the 60 s poll, can deliver the next event.
    await sleep(1000);
    const wakeAfter = await probe(org, 9_000_002, POLL_INTERVAL_MS - 2000);

    const count = tally(
      receiver.received.filter((r) => parcelOf(r) < 9_000_000),
      expected,
    );
    const counts = ingest.counts();
    const bad = badOutcomes(ingest.outcomes);
    report('pg-restart', count, {
      restart_ms: restartMs,
      ingest_202: counts.accepted,
      ingest_503: counts.unavailable,
      bad_answers: bad.length,
      slowest_ingest_ms: ingest.slowestMs(),
      drained,
    });
    reportFigures('pg-restart wake-up', { before_restart_ms: wakeBefore, after_restart_ms: wakeAfter, poll_interval_ms: POLL_INTERVAL_MS });
    if (bad.length > 0) reportFigures('pg-restart bad answers', { first: JSON.stringify(bad.slice(0, 3)) });

    expectAlive(cluster.all());
    expect.soft(arrived, `lost ${count.lost} accepted deliveries, e.g. ${count.missing}\n${tails(cluster.all())}`).toBe(true);
    expect.soft(count.lost).toBe(0);
    expect.soft(count.splitKeys).toEqual([]);
    expect.soft(drained, 'pending deliveries drained').toBe(true);
    expect.soft(bad, 'API answers other than 202 or 503 with a JSON:API error').toEqual([]);
    expect.soft(wakeBefore, 'the probe before the restart was delivered').toBeGreaterThanOrEqual(0);
    expect.soft(wakeAfter, 'an event published after the restart is delivered within the poll interval (LISTEN re-established)').toBeGreaterThanOrEqual(0);
  });
});
