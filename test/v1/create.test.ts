import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Credentials, DATABASES, type TestHerald, startHerald } from '../support/herald.js';
import { ISO_MILLIS, WEBHOOKS, v1 } from './helpers.js';

const FIXTURE = readFileSync(fileURLToPath(new URL('../fixtures/sendkit-create-webhook.txt', import.meta.url)), 'utf8');

/** The seed's curl request exactly as shown: method, path, headers and body. */
function seedRequest() {
  const curl = /curl -X (\w+) "([^"]+)" \\\n([\s\S]*?)-d '([\s\S]*?)'\n/.exec(FIXTURE);
  if (!curl) throw new Error('no curl example in the seed');
  const [, method, url, headerLines, body] = curl as unknown as [string, string, string, string, string];
  const headers: Record<string, string> = {};
  for (const [, name, value] of headerLines.matchAll(/-H "([^:]+): ([^"]*)"/g)) headers[name as string] = value as string;
  return { method, path: new URL(url).pathname, headers, body };
}

/** The seed's documented answer (the JSON block after the code samples). */
function seedResponse() {
  const start = FIXTURE.indexOf('{\n"success": true');
  const end = FIXTURE.indexOf('\n}\n}', start) + 4;
  return JSON.parse(FIXTURE.slice(start, end));
}

describe.each(DATABASES)('POST /v1/webhooks on %s', (kind) => {
  let h: TestHerald;
  let org: Credentials;
  beforeAll(async () => {
    h = await startHerald(kind, {}, { workers: false });
    org = await h.createOrg();
  });
  afterAll(async () => {
    await h.close();
  });

  it('answers the seed request with the documented body and defaults', async () => {
    const seed = seedRequest();
    expect(seed.headers['X-Api-Key']).toBe('YOUR_API_KEY');
    const res = await h.request(seed.method, seed.path, {
      raw: seed.body,
      headers: { ...seed.headers, 'X-Api-Key': org.secret_key },
    });
    expect(res.status, res.text).toBe(201);
    const documented = seedResponse();
    expect(res.body.success).toBe(true);
    const data = res.body.data;
    // Every documented field, of the documented type; `stats` is Herald's addition from the object docs.
    for (const [field, example] of Object.entries(documented.data as Record<string, unknown>)) {
      expect(data, field).toHaveProperty(field);
      expect(typeof data[field], field).toBe(typeof example);
    }
    expect(Object.keys(data).sort()).toEqual([...Object.keys(documented.data), 'stats'].sort());
    expect(data).toMatchObject({
      name: 'CRM Sync',
      url: 'https://crm.example.com/webhooks/sendkit',
      events: ['email.replied', 'email.positive_reply'],
      retryAttempts: 3,
      timeoutMs: 10000,
      status: 'active',
      workspaceId: `ws_${org.organization_id}`,
      createdBy: 'api',
      stats: { totalDelivered: 0, totalFailed: 0, lastDeliveredAt: null },
    });
    expect(data._id).toMatch(/^[0-9a-f]{24}$/);
    expect(data.secret).toMatch(/^[0-9a-f]{64}$/);
    expect(data.createdAt).toMatch(ISO_MILLIS);
    expect(data.updatedAt).toBe(data.createdAt);
  });

  it('trims the name, keeps a given secret and settings, and abbreviates the secret afterwards', async () => {
    const secret = 'my-own-signing-secret-0123456789';
    const res = await v1(h, org, 'POST', WEBHOOKS, {
      name: '  Padded  ',
      url: 'https://example.com/hook',
      events: ['email.sent', 'email.sent', 'lead.updated'],
      secret,
      retryAttempts: 0,
      timeoutMs: 1000,
    });
    expect(res.status, res.text).toBe(201);
    expect(res.body.data).toMatchObject({
      name: 'Padded',
      events: ['email.sent', 'lead.updated'],
      secret,
      retryAttempts: 0,
      timeoutMs: 1000,
    });
    const got = await v1(h, org, 'GET', `${WEBHOOKS}/${res.body.data._id}`);
    expect(got.status).toBe(200);
    expect(got.body.data.secret).toBe(`${secret.slice(0, 4)}...`);
    expect({ ...got.body.data, secret }).toEqual(res.body.data);
  });

  it('accepts the key as a bearer token too', async () => {
    const res = await h.request('POST', WEBHOOKS, {
      headers: { authorization: `Bearer ${org.secret_key}` },
      body: { name: 'Bearer', url: 'https://example.com/b', events: ['email.opened'] },
    });
    expect(res.status, res.text).toBe(201);
    const secret = res.body.data.secret as string;
    const list = await h.request('GET', WEBHOOKS, { headers: { authorization: `Bearer ${org.secret_key}` } });
    expect(list.status).toBe(200);
    expect(list.body.data.map((w: any) => w.secret)).toContain(`${secret.slice(0, 4)}...`);
  });
});
