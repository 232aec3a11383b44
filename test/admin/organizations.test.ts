/**
 * Organizations through the admin API: create (external_id unique), list with its filter and
 * cursor pagination, get, rename, suspend and activate, with precise errors that change nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ISO_SECONDS, expectOneError } from '../api/helpers.js';
import { DATABASES, type TestHerald, startHerald } from '../support/herald.js';
import { ORGS, admin, createOrganization, issueKey, mintToken, newAdminToken } from './helpers.js';

describe.each(DATABASES)('admin organizations on %s', (kind) => {
  const token = newAdminToken();
  let h: TestHerald;
  const call = (method: string, path: string, body?: unknown) => admin(h, token, method, path, body === undefined ? {} : { body });

  beforeAll(async () => {
    h = await startHerald(kind, { HERALD_ADMIN_TOKEN: token }, { workers: false });
  });
  afterAll(() => h?.close());

  it('creates an organization (201) with its external id, active', async () => {
    const res = await call('POST', ORGS, { name: 'Acme Parcels', external_id: 'cus_1001' });
    expect(res.status, res.text).toBe(201);
    expect(Object.keys(res.body)).toEqual(['data']);
    const org = res.body.data;
    expect(org).toEqual({
      id: expect.any(Number),
      name: 'Acme Parcels',
      external_id: 'cus_1001',
      status: 'active',
      created_at: expect.stringMatching(ISO_SECONDS),
      updated_at: org.created_at,
    });
    expect((await call('GET', `${ORGS}/${org.id}`)).body).toEqual({ data: org });
    const plain = await createOrganization(h, token, { name: 'No External Id' });
    expect(plain.external_id).toBeNull();
  });

  it('refuses a repeated external_id with 409 and creates nothing; names may repeat', async () => {
    await createOrganization(h, token, { name: 'First', external_id: 'cus_dup' });
    const before = (await call('GET', `${ORGS}?limit=100`)).body.data.length;
    const res = await call('POST', ORGS, { name: 'Second', external_id: 'cus_dup' });
    expectOneError(res, 409, 'invalid', '/data/external_id', 'An organization with external_id "cus_dup" already exists.');
    expect((await call('GET', `${ORGS}?limit=100`)).body.data.length).toBe(before);
    const twin = await createOrganization(h, token, { name: 'First' });
    expect(twin.name).toBe('First');
  });

  it('answers bad bodies with 400 naming the field, creating nothing', async () => {
    const before = (await call('GET', `${ORGS}?limit=100`)).body.data.length;
    expectOneError(await call('POST', ORGS, {}), 400, 'required', '/data/name');
    expectOneError(await call('POST', ORGS, { name: '' }), 400, 'invalid', '/data/name');
    expectOneError(await call('POST', ORGS, { name: '   ' }), 400, 'invalid', '/data/name', 'This field may not be blank.');
    expectOneError(await call('POST', ORGS, { name: 'x'.repeat(201) }), 400, 'invalid', '/data/name');
    expectOneError(await call('POST', ORGS, { name: 'ok', external_id: '' }), 400, 'invalid', '/data/external_id');
    expectOneError(await call('POST', ORGS, { name: 'ok', colour: 'red' }), 400, 'unknown_field', '/data/colour');
    expectOneError(await call('POST', ORGS, { name: 7 }), 400, 'invalid', '/data/name');
    const raw = await admin(h, token, 'POST', ORGS, { raw: '{"name":', headers: { 'content-type': 'application/json' } });
    expectOneError(raw, 400, 'invalid', undefined);
    expect((await call('GET', `${ORGS}?limit=100`)).body.data.length).toBe(before);
  });

  it('lists oldest first with limit, cursor and meta.next_cursor, and filters by external_id', async () => {
    const made = [];
    for (let i = 0; i < 5; i++) made.push(await createOrganization(h, token, { name: `page-${i}`, external_id: `page_${i}` }));
    const all = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await call('GET', `${ORGS}?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status, res.text).toBe(200);
      expect(res.body.data.length).toBeLessThanOrEqual(2);
      all.push(...res.body.data);
      cursor = res.body.meta.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(Math.ceil(all.length / 2));
    const ids = all.map((o) => o.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
    for (const m of made) expect(ids).toContain(m.id);
    const one = await call('GET', `${ORGS}?external_id=page_3`);
    expect(one.body).toEqual({ data: [made[3]], meta: { next_cursor: null } });
    expect((await call('GET', `${ORGS}?external_id=nobody`)).body).toEqual({ data: [], meta: { next_cursor: null } });
    expectOneError(await call('GET', `${ORGS}?cursor=%%%`), 400, 'invalid', undefined);
    expectOneError(await call('GET', `${ORGS}?limit=0`), 400, 'min_value', undefined);
    expectOneError(await call('GET', `${ORGS}?limit=101`), 400, 'invalid', undefined);
  });

  it('renames, and answers unknown or malformed ids with 404', async () => {
    const org = await createOrganization(h, token, { name: 'Old Name', external_id: 'rename_me' });
    const res = await call('PATCH', `${ORGS}/${org.id}`, { name: 'New Name' });
    expect(res.status, res.text).toBe(200);
    expect(res.body.data).toMatchObject({ id: org.id, name: 'New Name', external_id: 'rename_me', status: 'active' });
    expect((await call('GET', `${ORGS}/${org.id}`)).body.data.name).toBe('New Name');
    expectOneError(await call('PATCH', `${ORGS}/${org.id}`, { status: 'deleting' }), 400, 'invalid_choice', '/data/status');
    expectOneError(await call('PATCH', `${ORGS}/${org.id}`, { external_id: 'x' }), 400, 'unknown_field', '/data/external_id');
    expect((await call('GET', `${ORGS}/${org.id}`)).body.data.name).toBe('New Name');
    for (const id of ['999999', 'abc', '0', '-1', '99999999999999999999']) {
      expectOneError(await call('GET', `${ORGS}/${id}`), 404, 'not_found', undefined);
      expectOneError(await call('PATCH', `${ORGS}/${id}`, { name: 'x' }), 404, 'not_found', undefined);
      expectOneError(await call('DELETE', `${ORGS}/${id}`), 404, 'not_found', undefined);
    }
  });

  it('suspends: its keys, secret keys and tokens answer 401 (and no new token); active again, they work', async () => {
    const org = await createOrganization(h, token, { name: 'Suspendable' });
    const key = await issueKey(h, token, org.id);
    const accessToken = await mintToken(h, key);
    const v3 = '/api/v3/event-subscriptions/connections';
    const works = async () => {
      const statuses = [
        (await h.request('GET', v3, { auth: key })).status,
        (await h.request('GET', v3, { auth: `Bearer ${accessToken}` })).status,
        (await h.request('GET', '/v1/webhooks', { headers: { 'x-api-key': key.secret_key } })).status,
      ];
      return statuses;
    };
    expect(await works()).toEqual([200, 200, 200]);
    const suspended = await call('PATCH', `${ORGS}/${org.id}`, { status: 'suspended' });
    expect(suspended.body.data.status).toBe('suspended');
    expect(await works()).toEqual([401, 401, 401]);
    const token401 = await h.request('POST', '/oauth2/token', {
      auth: key,
      raw: 'grant_type=client_credentials',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(token401.status).toBe(401);
    expect((await call('GET', `${ORGS}?limit=100`)).body.data.find((o: { id: number }) => o.id === org.id).status).toBe('suspended');
    const active = await call('PATCH', `${ORGS}/${org.id}`, { status: 'active' });
    expect(active.body.data.status).toBe('active');
    expect(await works()).toEqual([200, 200, 200]);
  });
});
