/**
 * A worker frozen past its lease (built CLI). With HERALD_MAX_TIMEOUT_MS=2000 and
 * HERALD_LEASE_MS=4000, one of two workers is stopped with SIGSTOP while it holds deliveries
 * (requests open at the receiver), left stopped past its lease, and resumed with SIGCONT.
 * Nothing is lost; duplicates are counted (a few are allowed: the other worker takes over the
 * expired leases, at-least-once), but no worker ever sends the same delivery twice: the
 * resumed worker must not start, or retry, deliveries whose lease it no longer holds. The
 * receiver tells the senders apart by the TCP socket each request came on.
 *
 * Also: a lease shorter than the longest timeout plus 2 s makes `herald serve` refuse to start.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HeraldProcess, createKeys, spawnHerald } from '../support/process.js';
import type { Received } from '../support/receiver.js';
import { ATTEMPTS, createHook, listAll, logged, sleep, waitUntil } from '../delivery/helpers.js';
import { expectAlive, publishParcels, tails, waitDrained } from './support/api.js';
import { type Cluster, startCluster } from './support/cluster.js';
import { type FaultReceiver, between, startFaultReceiver } from './support/receiver.js';
import { type FaultWorld, POSTGRES_URL, faultWorld } from './support/setup.js';
import { keysFor, report, tally, webhookId } from './support/tally.js';

const LEASE_MS = 4000;
const PATHS = ['/frozen/1', '/frozen/2', '/frozen/3', '/frozen/4'];
const EVENTS = 300;

/** Requests of one webhook-id by one sender, more than once. */
function sameSenderRepeats(received: readonly Received[], senderOf: (r: Received) => number | undefined) {
  const seen = new Map<string, number>();
  for (const r of received) {
    const sender = senderOf(r);
    if (sender === undefined) continue; // counted apart (unknown_sender), never grouped together
    const key = `${sender} ${webhookId(r)}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  return [...seen].filter(([, n]) => n > 1);
}

async function freezeAndThaw(
  kind: string,
  processes: () => HeraldProcess[],
  workers: () => HeraldProcess[],
  receiver: FaultReceiver,
  publishAll: () => Promise<number[]>,
  drained: () => Promise<number>,
  /** The attempt log of the organization, to explain repeats in the failure message. */
  attempts: () => Promise<any[]>,
) {
  const ids = await publishAll();
  const expected = keysFor(PATHS, ids);
  const victim = await waitUntil(
    'a worker with requests open',
    () => workers().find((w) => receiver.openBy(w.pid) >= 5),
    30_000,
    5,
  );
  const openAtStop = receiver.openBy(victim.pid);
  victim.signal('SIGSTOP');
  const receivedAtStop = receiver.received.length;
  await sleep(LEASE_MS + 2500);
  const receivedWhileStopped = receiver.received.length - receivedAtStop;
  victim.signal('SIGCONT');
  const resumedAt = Date.now();

  const arrived = await waitUntil('every delivery received', () => tally(receiver.received, expected).lost === 0, 45_000, 100).then(
    () => true,
    () => false,
  );
  const drainMs = await drained().catch(() => -1);
  // One more lease: anything the resumed worker still wanted to send has been sent by now.
  await sleep(LEASE_MS + 500);
  const count = tally(receiver.received, expected);
  const log = await attempts();
  // A copy that follows a failed attempt on record (it timed out, say, on a loaded machine) is
  // the designed retry, not a repeat: the defect is a second copy with no failure between.
  const failedOnRecord = new Set(
    log
      .filter((a) => a.response_status === null || a.response_status < 200 || a.response_status >= 300)
      .map((a) => logged(a.request_headers ?? {}, 'webhook-id')),
  );
  const repeats = sameSenderRepeats(receiver.received, (r) => receiver.senderOf(r)).filter(
    ([key]) => !failedOnRecord.has(key.split(' ')[1]),
  );
  const unknownSender = receiver.received.filter((r) => receiver.senderOf(r) === undefined).length;
  const byVictim = receiver.received.filter((r) => receiver.senderOf(r) === victim.pid).length;
  const stoppedAt = resumedAt - (LEASE_MS + 2500);
  /** For the failure message: who repeated, and when (s after SIGSTOP) each copy arrived. */
  const repeatDetails = repeats.slice(0, 5).map(([key]) => {
    const [sender, id] = key.split(' ');
    const times = receiver.received
      .filter((r) => webhookId(r) === id && String(receiver.senderOf(r)) === sender)
      .map((r) => ((r.at - stoppedAt) / 1000).toFixed(2));
    return `${sender === String(victim.pid) ? 'stopped' : 'other'} worker ${id} at ${times.join(' and ')} s`;
  });
  let recorded = '';
  if (repeats.length > 0) {
    const first = repeats[0]?.[0].split(' ')[1];
    recorded = log
      .filter((a) => logged(a.request_headers ?? {}, 'webhook-id') === first)
      .map((a) => `#${a.number} ${((Date.parse(a.started_at) - stoppedAt) / 1000).toFixed(2)} s status=${a.response_status} error=${a.error}`)
      .join(' | ');
  }
  report(`sigstop ${kind}`, count, {
    open_at_stop: openAtStop,
    received_while_stopped: receivedWhileStopped,
    sent_by_victim: byVictim,
    same_worker_repeats: repeats.length,
    unknown_sender: unknownSender,
    drain_ms: drainMs,
  });

  expectAlive(processes());
  expect.soft(arrived, `lost ${count.lost}, e.g. ${count.missing}\n${tails(processes())}`).toBe(true);
  expect.soft(count.lost).toBe(0);
  expect.soft(count.splitKeys).toEqual([]);
  expect.soft(drainMs, 'pending deliveries drained').toBeGreaterThanOrEqual(0);
  expect.soft(receivedWhileStopped, 'the other worker kept delivering while one was stopped').toBeGreaterThan(0);
  expect.soft(unknownSender, 'every request was traced to its sending process').toBe(0);
  // At-least-once: a stopped worker's requests may go out again from the other worker (the
  // issue asks for no loss and the duplicate count), but no worker repeats itself.
  expect.soft(repeats.length, `deliveries sent twice by the same worker (SIGCONT at ${((resumedAt - stoppedAt) / 1000).toFixed(2)} s): ${repeatDetails.join('; ')}; attempts on record for the first: ${recorded}`).toBe(0);
}

describe('a worker stopped past its lease on PostgreSQL (1 API + 2 workers)', () => {
  let world: FaultWorld;
  let receiver: FaultReceiver;
  let cluster: Cluster;

  beforeAll(async () => {
    if (!POSTGRES_URL) return;
    world = faultWorld('postgres', { HERALD_MAX_TIMEOUT_MS: '2000', HERALD_LEASE_MS: String(LEASE_MS) });
    receiver = await startFaultReceiver({ delayMs: between(200, 400), senders: () => cluster?.pids() ?? [] });
  });
  afterAll(async () => {
    await world?.cleanup();
    await receiver?.close();
  });

  it.skipIf(!POSTGRES_URL)('SIGSTOP past the lease, then SIGCONT: no loss, duplicates reported', { timeout: 90_000 }, async () => {
    const started = await startCluster(world, 'faults-sigstop-pg');
    cluster = started.cluster;
    for (const path of PATHS) await createHook(cluster.api, started.org, { url: `http://127.0.0.1:${receiver.port}${path}`, timeout_ms: 2000 });
    await freezeAndThaw(
      'postgres',
      () => cluster.all(),
      () => cluster.workers,
      receiver,
      () => publishParcels(cluster.api, started.org, 1, EVENTS),
      () => waitDrained(cluster.api, started.org, 30_000),
      () => listAll(cluster.api, started.org, ATTEMPTS),
    );
  });
});

describe('a process stopped past its lease on SQLite (two processes on one file)', () => {
  let world: FaultWorld;
  let receiver: FaultReceiver;
  const processes: HeraldProcess[] = [];

  beforeAll(async () => {
    world = faultWorld('sqlite', { HERALD_MAX_TIMEOUT_MS: '2000', HERALD_LEASE_MS: String(LEASE_MS) });
    receiver = await startFaultReceiver({ delayMs: between(200, 400), senders: () => processes.map((p) => p.pid) });
  });
  afterAll(async () => {
    await world?.cleanup();
    await receiver?.close();
  });

  it('SIGSTOP past the lease, then SIGCONT: no loss, no process sends a delivery twice', { timeout: 90_000 }, async () => {
    const org = await createKeys(world.env, 'faults-sigstop-sqlite');
    processes.push(
      await spawnHerald({ env: world.env, role: 'all', name: 'sqlite-1' }),
      await spawnHerald({ env: world.env, role: 'worker', name: 'sqlite-2' }),
    );
    const api = processes[0] as HeraldProcess;
    for (const path of PATHS) await createHook(api, org, { url: `http://127.0.0.1:${receiver.port}${path}`, timeout_ms: 2000 });
    await freezeAndThaw(
      'sqlite',
      () => processes,
      // The API process must keep answering for the checks: freeze the other one.
      () => processes.slice(1),
      receiver,
      () => publishParcels(api, org, 1, EVENTS),
      () => waitDrained(api, org, 30_000),
      () => listAll(api, org, ATTEMPTS),
    );
  });
});

describe('lease shorter than the longest timeout', () => {
  it('makes `herald serve` exit non-zero with a message naming HERALD_LEASE_MS', { timeout: 30_000 }, async () => {
    const world = faultWorld('sqlite', { HERALD_LEASE_MS: '1000' });
    try {
      const proc = await spawnHerald({ env: world.env, role: 'all', name: 'short-lease', waitReady: false });
      const exit = await Promise.race([proc.exited, sleep(20_000).then(() => undefined)]);
      expect(exit, 'herald serve exited by itself').toBeDefined();
      expect(exit?.code, proc.tail()).not.toBe(0);
      expect(exit?.code).not.toBeNull();
      expect(`${proc.stderr}\n${proc.tail(50)}`).toContain('HERALD_LEASE_MS');
      console.log(`faults: short-lease: exit_code=${exit?.code} message=${JSON.stringify(proc.stderr.trim().split('\n')[0] ?? '')}`);
    } finally {
      await world.cleanup();
    }
  });
});
