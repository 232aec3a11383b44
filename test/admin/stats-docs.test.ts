/**
 * GET /admin/v1/stats, and the admin operations in the OpenAPI document (their own tag, the
 * admin security scheme) and at /docs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ISO_SECONDS } from '../api/helpers.js';
import { EVENTS, createHook, publish, waitUntil } from '../delivery/helpers.js';
import { parcelEvent } from '../support/events.js';
import { DATABASES, type TestHerald, startHerald } from '../support/herald.js';
import { type Receiver, startReceiver } from '../support/receiver.js';
import { ADMIN, admin, createOrganization, issueKey, newAdminToken } from './helpers.js';

const OPERATIONS = [
  'post /admin/v1/organizations',
  'get /admin/v1/organizations',
  'get /admin/v1/organizations/{id}',
  'patch /admin/v1/organizations/{id}',
  'delete /admin/v1/organizations/{id}',
  'post /admin/v1/organizations/{id}/keys',
  'post /admin/v1/organizations/{id}/portal-sessions',
  'get /admin/v1/organizations/{id}/keys',
  'delete /admin/v1/organizations/{id}/keys/{key_id}',
  'post /admin/v1/organizations/{id}/events',
  'post /admin/v1/organizations/{id}/events/batch',
  'get /admin/v1/stats',
];

describe.each(DATABASES)('admin stats and documentation on %s', (kind) => {
  const token = newAdminToken();
  let h: TestHerald;
  let receiver: Receiver;
  const stats = async () => {
    const res = await admin(h, token, 'GET', `${ADMIN}/stats`);
    expect(res.status, res.text).toBe(200);
    return res.body.data;
  };

  beforeAll(async () => {
    h = await startHerald(kind, { HERALD_ADMIN_TOKEN: token, HERALD_POLL_INTERVAL_MS: '50', HERALD_RETRY_SCHEDULE: '1h' });
    receiver = await startReceiver((req, res) => {
      res.writeHead(req.path.endsWith('fail') ? 500 : 200).end();
    });
  });
  afterAll(async () => {
    await receiver?.close();
    await h?.close();
  });

  it('counts organizations, connections, the queue and the last hour', async () => {
    const empty = await stats();
    expect(empty).toEqual({
      organizations: 0,
      connections: 0,
      pending_deliveries: 0,
      parked_deliveries: 0,
      oldest_pending_age_seconds: 0,
      succeeded_last_hour: 0,
      failed_last_hour: 0,
      generated_at: expect.stringMatching(ISO_SECONDS),
    });
    const a = await createOrganization(h, token, { name: 'a' });
    const b = await createOrganization(h, token, { name: 'b' });
    const keyA = await issueKey(h, token, a.id);
    const keyB = await issueKey(h, token, b.id);
    await createHook(h, keyA, { url: receiver.url });
    await createHook(h, keyA, { url: `${receiver.url}/fail`, retry_attempts: 0 });
    await createHook(h, keyB, { url: `${receiver.url}/b/fail`, retry_attempts: 3 });
    for (let i = 0; i < 3; i++) await publish(h, keyA, parcelEvent({ parcelId: i }));
    await publish(h, keyB, parcelEvent({ parcelId: 9 }));
    // a: 3 succeeded, 3 failed at once (no retries); b: 1 waiting an hour for its retry.
    const settled = await waitUntil('the deliveries to settle', async () => {
      const s = await stats();
      return s.succeeded_last_hour === 3 && s.failed_last_hour === 3 && s.pending_deliveries === 1 ? s : undefined;
    });
    expect(settled).toMatchObject({ organizations: 2, connections: 3, parked_deliveries: 0 });
    expect(settled.oldest_pending_age_seconds).toBe(0);
    // Not due yet is not late; the total is also what the tenant's list shows.
    const list = await h.request('GET', `${EVENTS}?limit=100`, { auth: keyA });
    expect(list.body.data).toHaveLength(3);
  });

  it('documents every admin operation under its own tag and scheme, and /docs shows them', async () => {
    const doc = (await h.request('GET', '/api/v3/openapi.json')).body;
    expect(doc.components.securitySchemes.AdminToken).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.tags).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'Admin' })]));
    const found: string[] = [];
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, { tags: string[]; security: unknown }>>)) {
      if (!path.startsWith('/admin')) continue;
      for (const [method, op] of Object.entries(item)) {
        found.push(`${method} ${path}`);
        expect(op.tags, `${method} ${path}`).toEqual(['Admin']);
        expect(op.security, `${method} ${path}`).toEqual([{ AdminToken: [] }]);
      }
    }
    expect(found.sort()).toEqual([...OPERATIONS].sort());
    // No v3 operation is open to the admin scheme.
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, { security?: unknown[] }>>)) {
      if (path.startsWith('/admin')) continue;
      for (const op of Object.values(item)) expect(JSON.stringify(op.security ?? [])).not.toContain('AdminToken');
    }
    const docs = await h.request('GET', '/docs/');
    expect(docs.status).toBe(200);
    expect(docs.text).toContain('swagger');
  });
});
