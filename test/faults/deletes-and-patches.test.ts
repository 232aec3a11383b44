/**
 * Deletes and PATCHes while hundreds of requests are in flight (built CLI, one process).
 *
 * Two organizations send to slow receivers (300–800 ms per answer). While their requests
 * are open, organization A deletes a subscription, deletes a connection, moves a
 * subscription to another connection (then deletes the old one) and pauses a subscription
 * for a while. What must hold:
 * - organization B gets every delivery exactly once: a result for a row that was deleted
 *   under it must not roll back the result batch it shares with everyone else;
 * - nothing stays pending: both organizations drain;
 * - the moved subscription's remaining deliveries go to the new connection's URL;
 * - the paused subscription gets no request while paused (after a short grace for requests
 *   already on the wire), its deliveries are `parked` or `pending`, never `failed`, and all
 *   of them arrive after it is resumed, without `recover`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HeraldProcess, createKeys, spawnHerald } from '../support/process.js';
import type { Received } from '../support/receiver.js';
import { CONNECTIONS, DELIVERIES, SUBSCRIPTIONS, createHook, listAll, sleep, waitUntil } from '../delivery/helpers.js';
import { createConnection, expectAlive, publishParcels, waitDrained } from './support/api.js';
import { type ReceiverGroup, between, startReceivers } from './support/receiver.js';
import { FAULT_DATABASES, type FaultWorld, faultWorld } from './support/setup.js';
import { keysFor, parcelOf, report, reportFigures, tally } from './support/tally.js';

const EVENTS_PER_ORG = 600;
const A_FIRST = 1;
const B_FIRST = 100_001;
/** Requests already on the wire when a change commits may still land this long after it. */
const GRACE_MS = 1000;
const PAUSE_MS = 5000;

describe.each(FAULT_DATABASES)('deletes and PATCHes in flight on %s', (kind) => {
  let world: FaultWorld;
  let receivers: ReceiverGroup;
  let herald: HeraldProcess;

  beforeAll(async () => {
    world = faultWorld(kind, {
      HERALD_MAX_TIMEOUT_MS: '2000',
      HERALD_LEASE_MS: '8000',
      // 9 busy connections × 30: a few hundred requests open at once.
      HERALD_MAX_IN_FLIGHT_PER_CONNECTION: '30',
    });
    // One receiver (one origin) per connection: per-origin socket limits stay out of the way.
    receivers = await startReceivers(11, { delayMs: between(300, 800) });
  });
  afterAll(async () => {
    await world?.cleanup();
    await receivers?.close();
  });

  it('keeps other tenants exactly-once, drains, follows a moved subscription and parks a paused one', { timeout: 90_000 }, async () => {
    const orgA = await createKeys(world.env, 'faults-org-a');
    const orgB = await createKeys(world.env, 'faults-org-b');
    herald = await spawnHerald({ env: world.env, role: 'all', name: `herald-${kind}` });
    let origins = 0;
    const hook = (path: string) => ({ url: receivers.url(origins++, path), timeout_ms: 2000 });
    const at = (path: string, from = 0, to = Number.POSITIVE_INFINITY) =>
      receivers.received().filter((r) => r.path === path && r.at > from && r.at <= to);

    const subDeleted = await createHook(herald, orgA, hook('/a/sub-deleted'));
    const connDeleted = await createHook(herald, orgA, hook('/a/conn-deleted'));
    const moved = await createHook(herald, orgA, hook('/a/moved-from'));
    const moveTarget = await createConnection(herald, orgA, hook('/a/moved-to'));
    const paused = await createHook(herald, orgA, hook('/a/paused'));
    await createHook(herald, orgA, hook('/a/control'));
    const bPaths = ['/b/1', '/b/2', '/b/3', '/b/4'];
    for (const path of bPaths) await createHook(herald, orgB, hook(path));

    const aIds: number[] = [];
    const bIds: number[] = [];
    for (let i = 0; i < EVENTS_PER_ORG; i += 100) {
      aIds.push(...(await publishParcels(herald, orgA, A_FIRST + i, 100)));
      bIds.push(...(await publishParcels(herald, orgB, B_FIRST + i, 100)));
    }

    let mostOpen = 0;
    await waitUntil('hundreds of requests in flight', () => (mostOpen = Math.max(mostOpen, receivers.open())) >= 150, 30_000, 5).catch((error: Error) => {
      throw new Error(`${error.message}: at most ${mostOpen} open, ${receivers.received().length} received\n${herald.tail()}`);
    });
    const inFlightAtChanges = receivers.open();

    const delSub = await herald.request('DELETE', `${SUBSCRIPTIONS}/${subDeleted.subscription.id}`, { auth: orgA });
    expect(delSub.status, delSub.text).toBe(204);
    const deletedSubAt = Date.now();
    const delConn = await herald.request('DELETE', `${CONNECTIONS}/${connDeleted.connection.id}`, { auth: orgA });
    expect(delConn.status, delConn.text).toBe(204);
    const deletedConnAt = Date.now();

    const move = await herald.request('PATCH', `${SUBSCRIPTIONS}/${moved.subscription.id}`, {
      auth: orgA,
      body: { connection_id: moveTarget.id },
    });
    expect(move.status, move.text).toBe(200);
    expect(move.body.data.connection_id).toBe(moveTarget.id);
    const movedAt = Date.now();
    const delOld = await herald.request('DELETE', `${CONNECTIONS}/${moved.connection.id}`, { auth: orgA });
    expect(delOld.status, delOld.text).toBe(204);
    const stillThere = await herald.request('GET', `${SUBSCRIPTIONS}/${moved.subscription.id}`, { auth: orgA });
    expect(stillThere.status, 'the moved subscription survives the deletion of its old connection').toBe(200);

    const pause = await herald.request('PATCH', `${SUBSCRIPTIONS}/${paused.subscription.id}`, { auth: orgA, body: { is_active: false } });
    expect(pause.status, pause.text).toBe(200);
    const pausedAt = Date.now();

    const movedBeforeMove = new Set(at('/a/moved-from', 0, movedAt).map(parcelOf)).size;
    const pausedBeforePause = new Set(at('/a/paused', 0, pausedAt).map(parcelOf)).size;
    expect(movedBeforeMove, 'the move happened while the subscription still had deliveries to do').toBeLessThan(EVENTS_PER_ORG);
    expect(pausedBeforePause, 'the pause happened while the subscription still had deliveries to do').toBeLessThan(EVENTS_PER_ORG);

    // While paused: nothing is sent for it, and nothing of it fails.
    await sleep(PAUSE_MS - 1000);
    const pausedRows = await listAll(herald, orgA, DELIVERIES, { subscription_id: paused.subscription.id });
    const statuses: Record<string, number> = {};
    for (const d of pausedRows) statuses[d.status] = (statuses[d.status] ?? 0) + 1;
    await sleep(1000);
    const resume = await herald.request('PATCH', `${SUBSCRIPTIONS}/${paused.subscription.id}`, { auth: orgA, body: { is_active: true } });
    expect(resume.status, resume.text).toBe(200);
    const resumedAt = Date.now();
    const sentWhilePaused = at('/a/paused', pausedAt + GRACE_MS, resumedAt).length;
    const sentInGrace = at('/a/paused', pausedAt, pausedAt + GRACE_MS).length;

    // Everything live arrives.
    const bRequests = () => receivers.received().filter((r) => r.path.startsWith('/b/'));
    const movedKey = (r: Received) => `moved ${parcelOf(r)}`;
    const movedRequests = () => receivers.received().filter((r) => r.path === '/a/moved-from' || r.path === '/a/moved-to');
    const movedExpected = aIds.map((p) => `moved ${p}`);
    const everything = () =>
      tally(bRequests(), keysFor(bPaths, bIds)).lost === 0 &&
      tally(at('/a/control'), keysFor(['/a/control'], aIds)).lost === 0 &&
      tally(at('/a/paused'), keysFor(['/a/paused'], aIds)).lost === 0 &&
      tally(movedRequests(), movedExpected, movedKey).lost === 0;
    const arrived = await waitUntil('every live delivery received', everything, 35_000, 100).then(
      () => true,
      () => false,
    );
    const drainMs = await Promise.all([waitDrained(herald, orgA, 15_000), waitDrained(herald, orgB, 15_000)]).then(
      (ms) => Math.max(...ms),
      () => -1,
    );
    await sleep(500);

    const b = tally(bRequests(), keysFor(bPaths, bIds));
    const control = tally(at('/a/control'), keysFor(['/a/control'], aIds));
    const pausedCount = tally(at('/a/paused'), keysFor(['/a/paused'], aIds));
    const movedCount = tally(movedRequests(), movedExpected, movedKey);
    /** How long after `since` the last request to `path` (before `until`) arrived, in ms; 0 when none came after it. */
    const lastAfter = (path: string, since: number, until = Number.POSITIVE_INFINITY) =>
      Math.max(0, ...at(path, since, until).map((r) => r.at - since));
    const toNew = at('/a/moved-to').length;
    const toOldAfterMove = at('/a/moved-from', movedAt + GRACE_MS).length;
    const afterDeleteSub = at('/a/sub-deleted', deletedSubAt + GRACE_MS).length;
    const afterDeleteConn = at('/a/conn-deleted', deletedConnAt + GRACE_MS).length;
    const bFailed = await listAll(herald, orgB, DELIVERIES, { status: 'failed' });
    const aFailed = await listAll(herald, orgA, DELIVERIES, { status: 'failed' });
    const pendingLeft = [
      ...(await listAll(herald, orgA, DELIVERIES, { status: 'pending' })),
      ...(await listAll(herald, orgB, DELIVERIES, { status: 'pending' })),
    ].length;

    report(`deletes-patches ${kind} org B`, b, { in_flight_at_changes: inFlightAtChanges, failed: bFailed.length, drain_ms: drainMs, pending_left: pendingLeft });
    report(`deletes-patches ${kind} org A moved subscription`, movedCount, { before_move: movedBeforeMove, at_new_url: toNew, at_old_url_after_move: toOldAfterMove, last_old_url_ms_after_move: lastAfter('/a/moved-from', movedAt) });
    report(`deletes-patches ${kind} org A paused subscription`, pausedCount, {
      before_pause: pausedBeforePause,
      sent_in_grace: sentInGrace,
      sent_while_paused: sentWhilePaused,
      last_ms_after_pause: lastAfter('/a/paused', pausedAt, resumedAt),
      statuses_while_paused: Object.entries(statuses).map(([s, n]) => `${s}:${n}`).join(','),
    });
    report(`deletes-patches ${kind} org A control`, control, { failed_org_a: aFailed.length });
    reportFigures(`deletes-patches ${kind} org A deleted`, {
      sub_requests_after_delete: afterDeleteSub,
      sub_last_ms_after_delete: lastAfter('/a/sub-deleted', deletedSubAt),
      conn_requests_after_delete: afterDeleteConn,
      conn_last_ms_after_delete: lastAfter('/a/conn-deleted', deletedConnAt),
    });

    expectAlive([herald]);
    expect.soft(arrived, `not every live delivery arrived: B lost ${b.lost} ${b.missing}, moved lost ${movedCount.lost} ${movedCount.missing}, paused lost ${pausedCount.lost}, control lost ${control.lost}\n${herald.tail()}`).toBe(true);
    // Organization B: exactly once.
    expect.soft(b.lost).toBe(0);
    expect.soft(b.duplicates, `org B webhook-ids received more than once: ${[...b.repeated].slice(0, 5)}`).toBe(0);
    expect.soft(b.splitKeys).toEqual([]);
    expect.soft(bFailed).toEqual([]);
    // Nothing stays pending.
    expect.soft(drainMs, 'pending deliveries drained within 15 s of the last arrival').toBeGreaterThanOrEqual(0);
    expect.soft(pendingLeft).toBe(0);
    expect.soft(aFailed.map((d) => `${d.id}: ${d.last_error}`)).toEqual([]);
    // The moved subscription: its remaining deliveries went to the new URL, none to the old one.
    expect.soft(movedCount.lost).toBe(0);
    expect.soft(toNew).toBeGreaterThan(0);
    expect.soft(toOldAfterMove).toBe(0);
    // The paused subscription: nothing sent while paused, nothing failed, everything after resume.
    expect.soft(sentWhilePaused).toBe(0);
    expect.soft(statuses.failed ?? 0, `statuses while paused: ${JSON.stringify(statuses)}`).toBe(0);
    expect.soft(Object.keys(statuses).every((s) => ['parked', 'pending', 'succeeded'].includes(s)), JSON.stringify(statuses)).toBe(true);
    expect.soft(pausedCount.lost).toBe(0);
    expect.soft(control.lost).toBe(0);
  });
});
