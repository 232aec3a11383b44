/**
 * 64 KiB answers at volume on SQLite (built CLI): 1,000 deliveries over 100 connections on 10
 * receivers (10 origins, so hundreds of requests are open at once and their results land in
 * large batches), each answering 200 with a 64 KiB body. Every delivery arrives exactly once (the SQLite queue thread, which
 * writes the attempt rows, keeps running: a dead thread means lost or re-sent deliveries once
 * the short lease runs out), and the attempt log keeps only a prefix of each body, at most
 * HERALD_RESPONSE_BODY_BYTES (default 8192) bytes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HeraldProcess, createKeys, spawnHerald } from '../support/process.js';
import { ATTEMPTS, DELIVERIES, createHook, listAll, sleep, waitUntil } from '../delivery/helpers.js';
import { expectAlive, publishParcels, waitDrained } from './support/api.js';
import { type ReceiverGroup, startReceivers } from './support/receiver.js';
import { type FaultWorld, faultWorld } from './support/setup.js';
import { keysFor, report, tally } from './support/tally.js';

const ORIGINS = 10;
const CONNECTIONS = 100;
const EVENTS = 10;
const BODY_BYTES = 64 * 1024;
const DEFAULT_KEPT_BYTES = 8192;

/** 64 KiB of ASCII that says where it is: any stored prefix can be checked byte for byte. */
function numberedBody(bytes: number): string {
  let out = '';
  for (let line = 0; out.length < bytes; line++) out += `line ${String(line).padStart(6, '0')} of the large answer.\n`;
  return out.slice(0, bytes);
}

describe('64 KiB answers at volume on SQLite', () => {
  let world: FaultWorld;
  let receivers: ReceiverGroup;
  let herald: HeraldProcess;
  const body = numberedBody(BODY_BYTES);

  beforeAll(async () => {
    // A short lease: were a result batch lost, its deliveries would be sent again within the test.
    world = faultWorld('sqlite', { HERALD_MAX_TIMEOUT_MS: '2000', HERALD_LEASE_MS: '4000' });
    receivers = await startReceivers(ORIGINS, { body, delayMs: () => 5 });
  });
  afterAll(async () => {
    await world?.cleanup();
    await receivers?.close();
  });

  it('delivers 1,000 exactly once and keeps at most HERALD_RESPONSE_BODY_BYTES of each answer', { timeout: 90_000 }, async () => {
    const org = await createKeys(world.env, 'faults-large-answers');
    herald = await spawnHerald({ env: world.env, role: 'all', name: 'herald-large' });
    const paths = Array.from({ length: CONNECTIONS }, (_, i) => `/large/${i}`);
    for (const [i, path] of paths.entries()) await createHook(herald, org, { url: receivers.url(i, path), timeout_ms: 2000 });
    const ids = await publishParcels(herald, org, 1, EVENTS);
    const expected = keysFor(paths, ids);

    await waitUntil('every delivery received', () => tally(receivers.received(), expected).lost === 0, 60_000, 100).catch(() => undefined);
    const drainMs = await waitDrained(herald, org, 20_000).catch(() => -1);
    // Past one more lease: a result that was never written would show as a second request.
    await sleep(5000);
    const count = tally(receivers.received(), expected);
    const succeeded = await listAll(herald, org, DELIVERIES, { status: 'succeeded' });
    const attempts = await listAll(herald, org, ATTEMPTS);
    const stored = attempts.map((a) => String(a.response_body ?? ''));
    const longest = Math.max(...stored.map((s) => Buffer.byteLength(s)));
    const notPrefix = stored.filter((s) => !body.startsWith(s)).length;
    const empty = stored.filter((s) => s.length === 0).length;
    report('large-responses sqlite', count, {
      succeeded: succeeded.length,
      attempts: attempts.length,
      stored_body_max_bytes: longest,
      not_a_prefix: notPrefix,
      empty_bodies: empty,
      drain_ms: drainMs,
    });

    expectAlive([herald]);
    expect(count.lost, `lost, e.g. ${count.missing}\n${herald.tail()}`).toBe(0);
    expect(count.duplicates, `received more than once: ${[...count.repeated].slice(0, 5)}`).toBe(0);
    expect(count.splitKeys).toEqual([]);
    expect(drainMs).toBeGreaterThanOrEqual(0);
    expect(succeeded).toHaveLength(CONNECTIONS * EVENTS);
    expect(attempts).toHaveLength(CONNECTIONS * EVENTS);
    expect(longest).toBeLessThanOrEqual(DEFAULT_KEPT_BYTES);
    expect(empty, 'every attempt keeps the start of its answer').toBe(0);
    expect(notPrefix, 'each stored body is a prefix of the real one').toBe(0);
  });
});
