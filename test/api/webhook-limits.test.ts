/**
 * Bounds on a webhook's configuration (issue 10, defect 2): `url` at most 2,048 characters,
 * `extra_headers` at most HERALD_MAX_EXTRA_HEADERS entries and HERALD_MAX_EXTRA_HEADERS_BYTES
 * bytes of names and values, `timeout_ms` at most HERALD_MAX_TIMEOUT_MS (which also caps the
 * default). Each refusal is a 400 pointing at the field, naming the limit, and changes nothing;
 * the /v1 dialect reports the same checks under its own field names.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Credentials, DATABASES, type TestHerald, startHerald } from '../support/herald.js';
import { CONNECTIONS, createConnection, expectOneError, snapshot, webhookBody } from './helpers.js';

const LONG_URL = `https://example.com/${'a'.repeat(2048 - 'https://example.com/'.length + 1)}`;

describe.each(DATABASES)('webhook configuration limits on %s', (kind) => {
  let h: TestHerald;
  let org: Credentials;
  let existing: Record<string, any>;

  beforeAll(async () => {
    h = await startHerald(
      kind,
      { HERALD_MAX_TIMEOUT_MS: '5000', HERALD_MAX_EXTRA_HEADERS: '3', HERALD_MAX_EXTRA_HEADERS_BYTES: '100' },
      { workers: false },
    );
    org = await h.createOrg();
    existing = await createConnection(h, org, webhookBody('https://example.com/existing', { extra_headers: { 'X-A': '1', 'X-B': '2', 'X-C': '3' } }));
  });
  afterAll(() => h?.close());

  const refusedBoth = async (configuration: Record<string, unknown>, pointer: string, detail: string) => {
    const before = await snapshot(h, org);
    const created = await h.request('POST', CONNECTIONS, { auth: org, body: webhookBody('https://example.com/new', configuration) });
    expectOneError(created, 400, 'invalid', `/data/configuration${pointer}`, detail);
    const patched = await h.request('PATCH', `${CONNECTIONS}/${existing.id}`, { auth: org, body: { configuration } });
    expectOneError(patched, 400, 'invalid', `/data/configuration${pointer}`, detail);
    expect(await snapshot(h, org)).toEqual(before);
  };

  it('refuses a url longer than 2,048 characters, and takes one of exactly 2,048', async () => {
    expect(LONG_URL).toHaveLength(2049);
    await refusedBoth({ url: LONG_URL }, '/url', 'Ensure this field has no more than 2048 characters.');
    const longest = await createConnection(h, org, webhookBody(LONG_URL.slice(0, 2048)));
    expect(longest.configuration.url).toHaveLength(2048);
  });

  it('refuses more extra_headers than HERALD_MAX_EXTRA_HEADERS', async () => {
    await refusedBoth(
      { extra_headers: { 'X-A': '1', 'X-B': '2', 'X-C': '3', 'X-D': '4' } },
      '/extra_headers',
      'Ensure this field has no more than 3 headers (it has 4).',
    );
  });

  it('refuses extra_headers whose names and values exceed HERALD_MAX_EXTRA_HEADERS_BYTES', async () => {
    // 'X-Big' (5 bytes) + 96 bytes = 101 > 100; a two-byte character counts twice.
    await refusedBoth(
      { extra_headers: { 'X-Big': 'v'.repeat(94) + 'é' } },
      '/extra_headers',
      'Ensure the header names and values total no more than 100 bytes (they total 101).',
    );
    const exactly = await createConnection(h, org, webhookBody('https://example.com/100', { extra_headers: { 'X-Big': 'v'.repeat(95) } }));
    expect(exactly.configuration.extra_headers).toEqual({ 'X-Big': 'v'.repeat(95) });
  });

  it('refuses a timeout_ms above HERALD_MAX_TIMEOUT_MS and defaults to it when it is below 10 s', async () => {
    await refusedBoth({ timeout_ms: 5001 }, '/timeout_ms', 'Ensure this value is less than or equal to 5000.');
    const defaulted = await createConnection(h, org, webhookBody('https://example.com/default'));
    expect(defaulted.configuration.timeout_ms).toBe(5000);
  });

  it('checks the headers only when a PATCH gives them: a connection at the limit can still change its url', async () => {
    const res = await h.request('PATCH', `${CONNECTIONS}/${existing.id}`, { auth: org, body: { configuration: { url: 'https://example.com/moved' } } });
    expect(res.status, res.text).toBe(200);
    expect(res.body.data.configuration.extra_headers).toEqual({ 'X-A': '1', 'X-B': '2', 'X-C': '3' });
  });

  it('/v1 reports the timeout bound under timeoutMs and defaults to HERALD_MAX_TIMEOUT_MS', async () => {
    const headers = { 'x-api-key': org.secret_key };
    const body = { name: 'Limits', url: 'https://example.com/v1', events: ['email.replied'] };
    const refused = await h.request('POST', '/v1/webhooks', { headers, body: { ...body, timeoutMs: 5001 } });
    expect(refused.status, refused.text).toBe(400);
    expect(refused.body).toEqual({ error: 'Bad Request', message: 'timeoutMs: Ensure this value is less than or equal to 5000.', code: 400 });
    const created = await h.request('POST', '/v1/webhooks', { headers, body });
    expect(created.status, created.text).toBe(201);
    expect(created.body.data.timeoutMs).toBe(5000);
  });
});
