/**
 * Deleting an organization: 204, gone at once for everyone, and every row it owned removed in
 * bounded batches, nobody else's. A deletion interrupted is finished by the maintenance pass
 * (only once its purger has stopped beating).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPass } from '../../src/delivery/maintenance.js';
import { PURGE_STALE_MS, purgeOrganization } from '../../src/domain/organization-purge.js';
import { expectOneError } from '../api/helpers.js';
import { EVENTS, createHook, waitUntil } from '../delivery/helpers.js';
import { parcelEvent } from '../support/events.js';
import { type Credentials, DATABASES, type TestHerald, startHerald } from '../support/herald.js';
import { type Receiver, startReceiver } from '../support/receiver.js';
import { ORGS, admin, createOrganization, issueKey, mintToken, newAdminToken, rowsOf } from './helpers.js';

const V3 = '/api/v3/event-subscriptions/connections';

describe.each(DATABASES)('deleting an organization on %s', (kind) => {
  const token = newAdminToken();
  let h: TestHerald;
  let receiver: Receiver;
  const call = (method: string, path: string, body?: unknown) => admin(h, token, method, path, body === undefined ? {} : { body });

  /** An organization with a row in every table it can own: keys, a token, connections, subscriptions, events, deliveries, attempts, keys of idempotency, an OAuth state. */
  async function populated(name: string, externalId: string): Promise<{ id: number; key: Credentials }> {
    const org = await createOrganization(h, token, { name, external_id: externalId });
    const key = await issueKey(h, token, org.id);
    await issueKey(h, token, org.id);
    await mintToken(h, key);
    const hooks = [await createHook(h, key, { url: receiver.url }), await createHook(h, key, { url: `${receiver.url}?b` })];
    const events = [];
    for (let i = 0; i < 7; i++) {
      const res = await h.request('POST', EVENTS, { auth: key, body: parcelEvent({ parcelId: i }), headers: { 'Idempotency-Key': `${name}-${i}` } });
      expect(res.status, res.text).toBe(202);
      events.push(res.body.data.id);
    }
    const test = await h.request('POST', `/api/v3/event-subscriptions/broadcast/test/${hooks[0]?.subscription.id}`, { auth: key });
    expect(test.status, test.text).toBe(200);
    await h.herald.store.db
      .insertInto('oauth_states')
      .values({
        state_hash: `${name}-state`,
        organization_id: org.id,
        connection_id: hooks[0]?.connection.id,
        verifier_sealed: 'sealed',
        expires_at: Date.now() + 60_000,
        used_at: null,
      })
      .execute();
    await waitUntil(`${name}'s deliveries to finish`, async () => {
      const rows = await rowsOf(h, org.id);
      return rows.attempts === 7 * 2 + 1;
    });
    return { id: org.id, key };
  }

  beforeAll(async () => {
    h = await startHerald(kind, { HERALD_ADMIN_TOKEN: token, HERALD_POLL_INTERVAL_MS: '50' });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
    await h?.close();
  });

  it('removes all its rows and nobody else\'s; it is gone at once and its external id is free', async () => {
    const victim = await populated('victim', `victim-${kind}`);
    const bystander = await populated('bystander', `bystander-${kind}`);
    const victimRows = await rowsOf(h, victim.id);
    for (const [table, n] of Object.entries(victimRows)) expect(n, table).toBeGreaterThan(0);
    const bystanderRows = await rowsOf(h, bystander.id);

    const res = await call('DELETE', `${ORGS}/${victim.id}`);
    expect(res.status, res.text).toBe(204);
    expect(res.text).toBe('');
    const after = await rowsOf(h, victim.id);
    expect(after).toEqual(Object.fromEntries(Object.keys(victimRows).map((t) => [t, 0])));
    expect(await rowsOf(h, bystander.id)).toEqual(bystanderRows);

    expectOneError(await call('GET', `${ORGS}/${victim.id}`), 404, 'not_found', undefined);
    expectOneError(await call('DELETE', `${ORGS}/${victim.id}`), 404, 'not_found', undefined);
    expect((await h.request('GET', V3, { auth: victim.key })).status).toBe(401);
    expect((await h.request('GET', V3, { auth: bystander.key })).status).toBe(200);
    const listed = (await call('GET', `${ORGS}?limit=100`)).body.data.map((o: { id: number }) => o.id);
    expect(listed).not.toContain(victim.id);
    expect(listed).toContain(bystander.id);
    const reborn = await createOrganization(h, token, { name: 'victim again', external_id: `victim-${kind}` });
    expect(reborn.id).not.toBe(victim.id);
  });

  it('deletes in batches, each its own transaction of at most the batch size', async () => {
    const org = await populated('batched', `batched-${kind}`);
    const rows = await rowsOf(h, org.id);
    expect(await h.herald.store.organizations.markDeleting(org.id, Date.now())).toBe(true);
    const batches: Array<[string, number]> = [];
    const counts = await purgeOrganization(h.herald.store, org.id, { batch: 3, onRemoved: (table, n) => batches.push([table, n]) });
    for (const [, n] of batches.filter(([t]) => t !== 'organizations')) expect(n).toBeLessThanOrEqual(3);
    expect(counts).toEqual({
      api_keys: rows.api_keys,
      attempts: rows.attempts,
      deliveries: rows.deliveries,
      events: rows.events,
      idempotency_keys: rows.idempotency_keys,
      subscriptions: rows.subscriptions,
      connections: rows.connections,
      organizations: 1,
    });
    expect(batches.filter(([t]) => t === 'attempts').length).toBe(Math.ceil((rows.attempts as number) / 3));
    expect(Object.values(await rowsOf(h, org.id)).every((n) => n === 0)).toBe(true);
  });

  it('an interrupted deletion is finished by the maintenance pass once its purger stopped', async () => {
    const org = await populated('interrupted', `interrupted-${kind}`);
    const stopped = new AbortController();
    stopped.abort();
    expect(await h.herald.store.organizations.markDeleting(org.id, Date.now())).toBe(true);
    expect(await purgeOrganization(h.herald.store, org.id, { signal: stopped.signal })).toBeUndefined();
    expectOneError(await call('GET', `${ORGS}/${org.id}`), 404, 'not_found', undefined);
    expect((await h.request('GET', V3, { auth: org.key })).status).toBe(401);
    // Its purger beat a moment ago: the pass leaves it alone.
    const soon = await runPass(h.herald.store, Date.now(), 30 * 86_400_000);
    expect(soon.organizationsDeleted).toEqual([]);
    expect((await rowsOf(h, org.id)).organizations).toBe(1);
    // Silent for longer than PURGE_STALE_MS: taken over and finished.
    await h.herald.store.db.updateTable('organizations').set({ updated_at: Date.now() - PURGE_STALE_MS - 1 }).where('id', '=', org.id).execute();
    const pass = await runPass(h.herald.store, Date.now(), 30 * 86_400_000);
    expect(pass.organizationsDeleted).toEqual([org.id]);
    expect(Object.values(await rowsOf(h, org.id)).every((n) => n === 0)).toBe(true);
  });
});
