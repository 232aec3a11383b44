/**
 * kill -9 of a worker and of the API process during ingest on PostgreSQL (built CLI): one
 * API and two workers, steady ingest; a worker is killed, then the API; both are started
 * again (the API on its old port) and ingest goes on. Every event that got a 202 is
 * delivered at least once; duplicates are counted (leases of the dead worker expire and
 * are sent again).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createHook, sleep, waitUntil } from '../delivery/helpers.js';
import { expectAlive, tails, waitDrained } from './support/api.js';
import { type Cluster, startCluster } from './support/cluster.js';
import { startIngest } from './support/ingest.js';
import { type FaultReceiver, between, startFaultReceiver } from './support/receiver.js';
import { type FaultWorld, describePostgres, faultWorld } from './support/setup.js';
import { keysFor, report, tally } from './support/tally.js';

const PATHS = ['/killed/1', '/killed/2'];

describePostgres('kill -9 of a worker and of the API on PostgreSQL during ingest', () => {
  let world: FaultWorld;
  let receiver: FaultReceiver;
  let cluster: Cluster;

  beforeAll(async () => {
    world = faultWorld('postgres', { HERALD_MAX_TIMEOUT_MS: '2000', HERALD_LEASE_MS: '4000' });
    receiver = await startFaultReceiver({ delayMs: between(20, 60) });
  });
  afterAll(async () => {
    await world?.cleanup();
    await receiver?.close();
  });

  it('delivers every accepted event at least once after both are killed and restarted', { timeout: 90_000 }, async () => {
    const started = await startCluster(world, 'faults-kill');
    cluster = started.cluster;
    const { org } = started;
    for (const path of PATHS) await createHook(cluster.api, org, { url: `http://127.0.0.1:${receiver.port}${path}`, timeout_ms: 2000 });

    const ingest = startIngest({ target: () => cluster.api.baseUrl, org, firstParcelId: 1, batchSize: 20, pauseMs: 20 });
    await waitUntil('ingest and delivery under way', () => ingest.accepted.length >= 500 && receiver.open() > 0, 30_000, 5);
    const worker = cluster.workers[0];
    if (!worker) throw new Error('no worker');
    const openAtWorkerKill = receiver.open();
    await worker.kill();
    expect(worker.exit?.signal).toBe('SIGKILL');
    await sleep(1000);
    const acceptedBeforeApiKill = ingest.accepted.length;
    const oldApi = cluster.api;
    await oldApi.kill();
    expect(oldApi.exit?.signal).toBe('SIGKILL');
    await sleep(1000);
    await Promise.all([cluster.replaceApi('api-restarted'), cluster.replaceWorker(worker, 'worker-1-restarted')]);
    const acceptedAtRestart = ingest.accepted.length;
    await sleep(3000);
    await ingest.stop();

    const expected = keysFor(PATHS, ingest.accepted);
    const arrived = await waitUntil('every accepted event delivered', () => tally(receiver.received, expected).lost === 0, 45_000, 200).then(
      () => true,
      () => false,
    );
    const drainMs = await waitDrained(cluster.api, org, 20_000).catch(() => -1);
    const count = tally(receiver.received, expected);
    const outcomes = ingest.counts();
    report('kill-api-and-worker postgres', count, {
      open_at_worker_kill: openAtWorkerKill,
      accepted_before_api_kill: acceptedBeforeApiKill,
      accepted_at_restart: acceptedAtRestart,
      ingest_202: outcomes.accepted,
      ingest_no_answer: outcomes['no-answer'],
      ingest_503: outcomes.unavailable,
      drain_ms: drainMs,
    });

    expectAlive(cluster.all());
    expect.soft(ingest.accepted.length, 'ingest went on after the restart').toBeGreaterThan(acceptedAtRestart);
    expect.soft(arrived, `lost ${count.lost}, e.g. ${count.missing}\n${tails(cluster.all())}`).toBe(true);
    expect.soft(count.lost).toBe(0);
    expect.soft(count.splitKeys).toEqual([]);
    expect.soft(drainMs, 'pending deliveries drained').toBeGreaterThanOrEqual(0);
  });
});
