import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Credentials, DATABASES, type TestHerald, startHerald } from '../support/herald.js';
import { WEBHOOKS, createWebhook, v1 } from './helpers.js';

describe.each(DATABASES)('/v1 webhooks list, get and delete on %s', (kind) => {
  let h: TestHerald;
  let org: Credentials;
  const created: any[] = [];
  beforeAll(async () => {
    h = await startHerald(kind, {}, { workers: false });
    org = await h.createOrg();
    for (let i = 0; i < 5; i++) created.push(await createWebhook(h, org, { name: `Hook ${i}`, url: `https://example.com/${i}` }));
    // Another workspace's webhooks never show up.
    await createWebhook(h, await h.createOrg(), { url: 'https://example.com/elsewhere' });
  });
  afterAll(async () => {
    await h.close();
  });

  it('pages through the workspace\'s webhooks, oldest first, with abbreviated secrets', async () => {
    const seen: any[] = [];
    let cursor: string | null = null;
    const pages: any[] = [];
    do {
      const res = await v1(h, org, 'GET', `${WEBHOOKS}?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status, res.text).toBe(200);
      expect(res.body.success).toBe(true);
      pages.push(res.body.pagination);
      seen.push(...res.body.data);
      cursor = res.body.pagination.nextCursor;
    } while (cursor);
    expect(pages.map((p) => [p.limit, p.total, p.hasMore])).toEqual([
      [2, 5, true],
      [2, 5, true],
      [2, 5, false],
    ]);
    expect(seen.map((w) => w._id)).toEqual(created.map((w) => w._id));
    expect(seen.map((w) => w.secret)).toEqual(created.map((w) => `${w.secret.slice(0, 4)}...`));
    expect(seen[0]).toEqual({ ...created[0], secret: `${created[0].secret.slice(0, 4)}...` });
  });

  it('uses a limit of 25 by default', async () => {
    const res = await v1(h, org, 'GET', WEBHOOKS);
    expect(res.body.pagination).toEqual({ limit: 25, total: 5, hasMore: false, nextCursor: null });
    expect(res.body.data).toHaveLength(5);
  });

  it('gets one webhook, also by its id in capitals', async () => {
    const [first] = created;
    const res = await v1(h, org, 'GET', `${WEBHOOKS}/${first._id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true, data: { ...first, secret: `${first.secret.slice(0, 4)}...` } });
    const upper = await v1(h, org, 'GET', `${WEBHOOKS}/${first._id.toUpperCase()}`);
    expect(upper.body).toEqual(res.body);
  });

  it('deletes a webhook: 200 {"success": true}, then 404', async () => {
    const last = created[created.length - 1];
    const res = await v1(h, org, 'DELETE', `${WEBHOOKS}/${last._id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true });
    expect((await v1(h, org, 'GET', `${WEBHOOKS}/${last._id}`)).status).toBe(404);
    const list = await v1(h, org, 'GET', WEBHOOKS);
    expect(list.body.pagination.total).toBe(4);
    expect(list.body.data.map((w: any) => w._id)).not.toContain(last._id);
  });

  it('answers 405 for a method a path does not have', async () => {
    const res = await v1(h, org, 'PUT', `${WEBHOOKS}/${created[0]._id}`, { name: 'x' });
    expect(res.status).toBe(405);
    expect(res.body).toMatchObject({ code: 405 });
  });
});
