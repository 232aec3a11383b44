/**
 * Timeouts do not count the wait for a socket (built CLI, SQLite, one process).
 *
 * 100 connections send to one receiver origin that answers after 1 s, timeout_ms 3000, with
 * HERALD_CONNECTIONS_PER_ORIGIN=64: 1,000 deliveries queue for 64 sockets, so most wait
 * longer than 3 s for theirs. The timeout bounds the request, not the queue: no first attempt
 * may be recorded as timed out. (The receiver also checks the 64-socket bound holds, else the
 * test would prove nothing.)
 *
 * Fairness on a shared origin: an organization with 90 connections publishes a large backlog
 * first, then one with 10 connections publishes a small one. The small one must finish before
 * the big one does (it is not starved until the big one is done); both completion times print.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Credentials } from '../support/herald.js';
import { type HeraldProcess, createKeys, spawnHerald } from '../support/process.js';
import type { Received } from '../support/receiver.js';
import { ATTEMPTS, createHook, listAll, waitUntil } from '../delivery/helpers.js';
import { expectAlive, publishParcels } from './support/api.js';
import { type FaultReceiver, startFaultReceiver } from './support/receiver.js';
import { type FaultWorld, faultWorld } from './support/setup.js';
import { keysFor, pathAndParcel, report, reportFigures, tally } from './support/tally.js';

const SOCKETS = 64;

describe('socket waits and fairness on one origin (SQLite)', () => {
  let world: FaultWorld;
  let receiver: FaultReceiver;
  let herald: HeraldProcess;
  let mostOpen = 0;
  let sampler: ReturnType<typeof setInterval> | undefined;

  beforeAll(async () => {
    world = faultWorld('sqlite', { HERALD_CONNECTIONS_PER_ORIGIN: String(SOCKETS) });
    receiver = await startFaultReceiver({ delayMs: () => 1000 });
    sampler = setInterval(() => {
      mostOpen = Math.max(mostOpen, receiver.open());
    }, 5);
  });
  afterAll(async () => {
    if (sampler) clearInterval(sampler);
    await world?.cleanup();
    await receiver?.close();
  });

  const hooks = async (org: Credentials, prefix: string, n: number) => {
    const paths = Array.from({ length: n }, (_, i) => `/${prefix}/${i}`);
    for (const path of paths) await createHook(herald, org, { url: `http://127.0.0.1:${receiver.port}${path}`, timeout_ms: 3000 });
    return paths;
  };

  it('records no first attempt as timed out while 1,000 deliveries wait for 64 sockets', { timeout: 90_000 }, async () => {
    const org = await createKeys(world.env, 'faults-sockets');
    herald = await spawnHerald({ env: world.env, role: 'all', name: 'herald-sockets' });
    const paths = await hooks(org, 'wait', 100);
    const start = Date.now();
    const ids = await publishParcels(herald, org, 1, 10);
    const expected = keysFor(paths, ids);
    const arrived = await waitUntil('every delivery received', () => tally(receiver.received, expected).lost === 0, 60_000, 200).then(
      () => true,
      () => false,
    );
    const elapsedMs = Date.now() - start;
    const attempts = await waitUntil(
      'every attempt recorded',
      async () => {
        const list = await listAll(herald, org, ATTEMPTS);
        return list.length >= expected.length ? list : undefined;
      },
      20_000,
      250,
    ).catch(() => listAll(herald, org, ATTEMPTS));
    const first = attempts.filter((a) => a.number === 1);
    const timedOut = first.filter((a) => /timed out/i.test(String(a.error ?? '')));
    const count = tally(receiver.received, expected);
    report('socket-wait sqlite', count, {
      first_attempts: first.length,
      first_attempts_timed_out: timedOut.length,
      most_open_sockets: mostOpen,
      elapsed_ms: elapsedMs,
    });

    expectAlive([herald]);
    expect.soft(arrived, herald.tail()).toBe(true);
    expect.soft(count.lost).toBe(0);
    expect.soft(mostOpen, `at most HERALD_CONNECTIONS_PER_ORIGIN=${SOCKETS} requests open at the origin`).toBeLessThanOrEqual(SOCKETS);
    expect.soft(first).toHaveLength(expected.length);
    expect.soft(timedOut.length, `first attempts recorded as timed out, e.g. ${timedOut[0]?.error}`).toBe(0);
  });

  it('lets a small organization finish before a big one on the same origin', { timeout: 90_000 }, async () => {
    receiver.setDelay(() => 500);
    const big = await createKeys(world.env, 'faults-big');
    const small = await createKeys(world.env, 'faults-small');
    const bigPaths = await hooks(big, 'big', 90);
    const smallPaths = await hooks(small, 'small', 10);
    const before = receiver.received.length;
    const start = Date.now();
    // The big backlog first: a first-come queue would serve the small one last.
    const bigIds = await publishParcels(herald, big, 100_001, 20);
    const smallIds = await publishParcels(herald, small, 200_001, 10);
    const bigExpected = keysFor(bigPaths, bigIds);
    const smallExpected = keysFor(smallPaths, smallIds);
    const ours = () => receiver.received.slice(before);
    await waitUntil(
      'both organizations delivered',
      () => tally(ours(), bigExpected).lost === 0 && tally(ours(), smallExpected).lost === 0,
      75_000,
      100,
    ).catch(() => undefined);
    /** ms from start until the last expected key first arrived; -1 when some never did. */
    const doneAfter = (expected: string[]) => {
      const firstAt = new Map<string, number>();
      for (const r of ours() as Received[]) {
        const key = pathAndParcel(r);
        if (!firstAt.has(key)) firstAt.set(key, r.at);
      }
      const times = expected.map((k) => firstAt.get(k));
      return times.some((t) => t === undefined) ? -1 : Math.max(...(times as number[])) - start;
    };
    const bigDone = doneAfter(bigExpected);
    const smallDone = doneAfter(smallExpected);
    reportFigures('fairness sqlite', {
      big_deliveries: bigExpected.length,
      small_deliveries: smallExpected.length,
      big_done_ms: bigDone,
      small_done_ms: smallDone,
      small_over_big: bigDone > 0 ? (smallDone / bigDone).toFixed(2) : 'n/a',
    });

    expectAlive([herald]);
    expect.soft(bigDone, 'the big organization was delivered').toBeGreaterThan(0);
    expect.soft(smallDone, 'the small organization was delivered').toBeGreaterThan(0);
    expect.soft(smallDone, 'the small organization finishes before the big one').toBeLessThan(bigDone);
  });
});
