/**
 * PostgreSQL connections cut under load (built CLI): one API and two worker processes on one
 * schema, steady ingest, and a few times mid-load every backend of this test's processes is
 * terminated (`pg_terminate_backend`, selected by `application_name = 'herald <schema>'`, so
 * no other test is hit). Every process survives, no accepted event is lost (duplicates are
 * reported: at-least-once), and every API request meanwhile answers 202/200 or 503 with a
 * JSON:API error — none hangs, none has its connection dropped.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DELIVERIES, createHook, sleep, waitUntil } from '../delivery/helpers.js';
import { expectAlive, tails } from './support/api.js';
import { type Cluster, startCluster } from './support/cluster.js';
import { badOutcomes, startIngest, startReads } from './support/ingest.js';
import { type FaultReceiver, between, startFaultReceiver } from './support/receiver.js';
import { type FaultWorld, applicationName, describePostgres, faultWorld, pgQuery } from './support/setup.js';
import { keysFor, report, reportFigures, tally } from './support/tally.js';

const CUTS = 3;
const PATHS = ['/cut/1', '/cut/2'];

describePostgres('PostgreSQL backends terminated mid-load (1 API + 2 workers)', () => {
  let world: FaultWorld;
  let receiver: FaultReceiver;
  let cluster: Cluster;

  beforeAll(async () => {
    world = faultWorld('postgres', { HERALD_MAX_TIMEOUT_MS: '2000', HERALD_LEASE_MS: '4000' });
    receiver = await startFaultReceiver({ delayMs: between(5, 30) });
  });
  afterAll(async () => {
    await world?.cleanup();
    await receiver?.close();
  });

  it('survives pg_terminate_backend of its connections: nothing lost, only 202 or 503 answers', { timeout: 90_000 }, async () => {
    const started = await startCluster(world, 'faults-pg-cut');
    cluster = started.cluster;
    const { org } = started;
    for (const path of PATHS) await createHook(cluster.api, org, { url: `http://127.0.0.1:${receiver.port}${path}`, timeout_ms: 2000 });

    const ingest = startIngest({ target: () => cluster.api.baseUrl, org, firstParcelId: 1, batchSize: 20, pauseMs: 20 });
    const reads = startReads({ target: () => cluster.api.baseUrl, org, path: `${DELIVERIES}?limit=5` });
    await waitUntil('ingest and delivery under way', () => ingest.accepted.length >= 500 && receiver.received.length >= 200, 30_000, 50);

    const name = applicationName(world.schema as string);
    const ours = await pgQuery<{ n: number }>('select count(*)::int as n from pg_stat_activity where application_name = $1', [name]);
    const sessions = ours[0]?.n ?? 0;
    const terminated: number[] = [];
    if (sessions > 0) {
      for (let cut = 0; cut < CUTS; cut++) {
        const rows = await pgQuery<{ ok: boolean }>('select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = $1', [name]);
        terminated.push(rows.filter((r) => r.ok).length);
        await sleep(2000);
      }
    }
    await sleep(2000);
    await ingest.stop();
    await reads.stop();

    const expected = keysFor(PATHS, ingest.accepted);
    const arrived = await waitUntil('every accepted event delivered', () => tally(receiver.received, expected).lost === 0, 45_000, 200).then(
      () => true,
      () => false,
    );
    await sleep(500);
    const count = tally(receiver.received, expected);
    const ingestCounts = ingest.counts();
    const readCounts = reads.counts();
    const bad = [...badOutcomes(ingest.outcomes), ...badOutcomes(reads.outcomes)];
    report('pg-terminate', count, {
      sessions_before_cut: sessions,
      terminated: terminated.join('+') || 0,
      ingest_202: ingestCounts.accepted,
      ingest_503: ingestCounts.unavailable,
      reads_200: readCounts.accepted,
      reads_503: readCounts.unavailable,
      bad_answers: bad.length,
      slowest_ingest_ms: ingest.slowestMs(),
    });
    if (bad.length > 0) reportFigures('pg-terminate bad answers', { first: JSON.stringify(bad.slice(0, 3)) });

    expect(sessions, `no PostgreSQL session has application_name '${name}': Herald does not set it`).toBeGreaterThan(0);
    expect(terminated.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expectAlive(cluster.all());
    expect(arrived, `lost ${count.lost} accepted deliveries, e.g. ${count.missing}\n${tails(cluster.all())}`).toBe(true);
    expect(count.lost).toBe(0);
    expect(count.splitKeys).toEqual([]);
    expect(bad, 'API answers other than 202/200 or 503 with a JSON:API error').toEqual([]);
  });
});
