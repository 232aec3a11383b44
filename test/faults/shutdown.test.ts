/**
 * SIGTERM with requests still open (built CLI, one process).
 *
 * The receiver holds every request longer than HERALD_SHUTDOWN_GRACE_MS=1000; the process is
 * sent SIGTERM with 20 requests open, on a connection with retry_attempts 0 and one with
 * retries. The attempts cut short by the shutdown are released, not recorded: after a restart
 * every delivery is sent again and succeeds, well before its 30 s lease would have run out,
 * and no attempt on record failed (a connection without retries would otherwise have its
 * deliveries `failed` for good).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HeraldProcess, createKeys, spawnHerald } from '../support/process.js';
import { DELIVERIES, createHook, getDelivery, listAll, sleep, waitUntil } from '../delivery/helpers.js';
import { expectAlive, publishParcels } from './support/api.js';
import { type FaultReceiver, startFaultReceiver } from './support/receiver.js';
import { FAULT_DATABASES, type FaultWorld, faultWorld } from './support/setup.js';
import { keysFor, report, tally } from './support/tally.js';

const LEASE_MS = 30_000;
const PATHS = ['/shutdown/no-retries', '/shutdown/retries'];
const EVENTS = 10;

describe.each(FAULT_DATABASES)('SIGTERM with requests open on %s', (kind) => {
  let world: FaultWorld;
  let receiver: FaultReceiver;

  beforeAll(async () => {
    world = faultWorld(kind, {
      HERALD_SHUTDOWN_GRACE_MS: '1000',
      HERALD_MAX_TIMEOUT_MS: '10000',
      HERALD_LEASE_MS: String(LEASE_MS),
    });
    receiver = await startFaultReceiver();
  });
  afterAll(async () => {
    await world?.cleanup();
    await receiver?.close();
  });

  it('releases the attempts cut short: delivered after restart, no failed attempt recorded', { timeout: 90_000 }, async () => {
    const org = await createKeys(world.env, `faults-shutdown-${kind}`);
    const first: HeraldProcess = await spawnHerald({ env: world.env, role: 'all', name: `first-${kind}` });
    await createHook(first, org, { url: `http://127.0.0.1:${receiver.port}${PATHS[0]}`, timeout_ms: 10_000, retry_attempts: 0 });
    await createHook(first, org, { url: `http://127.0.0.1:${receiver.port}${PATHS[1]}`, timeout_ms: 10_000, retry_attempts: 5 });
    receiver.hold(true);
    const ids = await publishParcels(first, org, 1, EVENTS);
    const expected = keysFor(PATHS, ids);
    await waitUntil('every request open at the receiver', () => receiver.open() === expected.length, 20_000, 10);

    const termAt = Date.now();
    first.signal('SIGTERM');
    const exit = await Promise.race([first.exited, sleep(20_000).then(() => undefined)]);
    const exitMs = Date.now() - termAt;
    const abandoned = receiver.abandoned.length;
    // From now on the receiver answers at once.
    receiver.hold(false);
    receiver.release();

    const restarted = await spawnHerald({ env: world.env, role: 'all', name: `restarted-${kind}` });
    const restartAt = Date.now();
    const all = await waitUntil(
      'every delivery succeeded after the restart',
      async () => {
        const list = await listAll(restarted, org, DELIVERIES);
        return list.length === expected.length && list.every((d) => d.status === 'succeeded') ? list : undefined;
      },
      LEASE_MS - 10_000,
      200,
    ).catch(() => undefined);
    const redeliveredMs = all ? Date.now() - restartAt : -1;
    const rows = all ?? (await listAll(restarted, org, DELIVERIES));
    const details = await Promise.all(rows.map((d) => getDelivery(restarted, org, d.id)));
    const attempts = details.flatMap((d) => d.attempts as any[]);
    const failedAttempts = attempts.filter((a) => a.error != null || !(a.response_status >= 200 && a.response_status < 300));
    const counts: Record<string, number> = {};
    for (const d of details) counts[`${d.status}/${d.attempt_count}`] = (counts[`${d.status}/${d.attempt_count}`] ?? 0) + 1;
    const count = tally(receiver.received, expected);
    report(`shutdown ${kind}`, count, {
      exit_code: exit?.code ?? 'none',
      exit_ms: exitMs,
      abandoned_by_shutdown: abandoned,
      redelivered_ms_after_restart: redeliveredMs,
      attempts: attempts.length,
      failed_attempts: failedAttempts.length,
      status_by_attempt_count: Object.entries(counts).map(([k, n]) => `${k}:${n}`).join(','),
    });

    expect(exit, 'the process exited after SIGTERM').toBeDefined();
    expect.soft(exit?.code, first.tail()).toBe(0);
    expect.soft(abandoned, 'the shutdown cut the open requests short').toBe(expected.length);
    expectAlive([restarted]);
    expect.soft(count.lost).toBe(0);
    expect.soft(all, `not all succeeded within ${LEASE_MS - 10_000} ms of the restart (released, not left leased?): ${JSON.stringify(counts)}`).toBeDefined();
    expect.soft(failedAttempts.map((a) => `${a.delivery_id}: ${a.error}`), 'failed attempts on record').toEqual([]);
    expect.soft(details.every((d) => d.attempt_count === d.attempts.length), 'attempt_count matches the attempts on record').toBe(true);
  });
});
