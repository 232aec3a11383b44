/**
 * Deleting an organization through the admin API revokes its Klaviyo grants at Klaviyo, as
 * deleting each connection would (best effort: a failing revoke does not stop the deletion).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, newAdminToken } from '../admin/helpers.js';
import { type FakeKlaviyo, startFakeKlaviyo } from '../support/fake-klaviyo.js';
import { DATABASES, type TestHerald } from '../support/herald.js';
import { authorize, klaviyoConnection, startKlaviyoHerald } from './harness.js';

describe.each(DATABASES)('deleting an organization with Klaviyo connections on %s', (kind) => {
  const token = newAdminToken();
  let fake: FakeKlaviyo;
  let h: TestHerald;

  beforeAll(async () => {
    fake = await startFakeKlaviyo();
    h = await startKlaviyoHerald(kind, fake, { HERALD_ADMIN_TOKEN: token }, { workers: false });
  });
  afterAll(async () => {
    await h?.close();
    await fake?.close();
  });

  it('revokes every grant of the organization, and deletes it even when a revoke fails', async () => {
    const org = await h.createOrg();
    for (let i = 0; i < 2; i++) await authorize(h, org, (await klaviyoConnection(h, org)).connectionId);
    const before = fake.stats.revocations;
    const res = await admin(h, token, 'DELETE', `/admin/v1/organizations/${org.organization_id}`);
    expect(res.status, res.text).toBe(204);
    expect(fake.stats.revocations).toBe(before + 2);

    const other = await h.createOrg();
    await authorize(h, other, (await klaviyoConnection(h, other)).connectionId);
    fake.failRevoke = true;
    try {
      const gone = await admin(h, token, 'DELETE', `/admin/v1/organizations/${other.organization_id}`);
      expect(gone.status, gone.text).toBe(204);
      expect((await admin(h, token, 'GET', `/admin/v1/organizations/${other.organization_id}`)).status).toBe(404);
    } finally {
      fake.failRevoke = false;
    }
  });
});
