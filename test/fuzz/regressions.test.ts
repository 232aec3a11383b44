/**
 * The defects openapi-fuzz.test.ts found, one focused case each: every answer is in the
 * dialect's error format (never a 5xx, never Fastify's or Node's own body) and the
 * refused request wrote nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Credentials, DATABASES, type TestHerald, startHerald } from '../support/herald.js';
import { CONNECTIONS, SUBSCRIPTIONS, createConnection, expectOneError } from '../api/helpers.js';
import { errorFormatProblems, snapshot } from './checks.js';

const WEBHOOKS = '/v1/webhooks';

describe.each(DATABASES)('fuzzing regressions on %s', (kind) => {
  let h: TestHerald;
  let org: Credentials;
  let connectionId: number;
  const v1 = () => ({ 'x-api-key': org.secret_key });

  beforeAll(async () => {
    h = await startHerald(kind, {}, { workers: false });
    org = await h.createOrg();
    connectionId = (await createConnection(h, org, { type: 'webhook', configuration: { url: 'https://example.com/hook' } })).id;
  });
  afterAll(() => h?.close());

  /** Sends a request and checks that it was refused with `status` in the dialect's format and changed nothing. */
  async function refused(dialect: 'v3' | 'v1', status: number, path: string, init: RequestInit = {}) {
    const before = await snapshot(h.herald);
    const res = await fetch(`${h.baseUrl}${path}`, init);
    const answer = { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() };
    expect(answer.status, answer.text).toBe(status);
    expect(errorFormatProblems(dialect, path, answer), answer.text).toEqual([]);
    expect(await snapshot(h.herald)).toEqual(before);
    return JSON.parse(answer.text);
  }

  describe('requests the HTTP parser or the router refuses', () => {
    it('a URL past the header size limit is a 431 in the dialect of its path, not Fastify’s body', async () => {
      const long = 'x'.repeat(20_000);
      const v3 = await refused('v3', 431, `${CONNECTIONS}?connection_type=${long}`, { headers: { authorization: org.basic } });
      expect(v3.errors[0].code).toBe('invalid');
      const sendkit = await refused('v1', 431, `${WEBHOOKS}?cursor=${long}`, { headers: v1() });
      expect(sendkit.error).toBe('Request Header Fields Too Large');
    });

    it('a path that is not valid percent-encoding is a 400 in the dialect’s format', async () => {
      await refused('v3', 400, `${CONNECTIONS}/%zz`, { headers: { authorization: org.basic } });
      await refused('v3', 400, `${CONNECTIONS}/%`, { method: 'DELETE', headers: { authorization: org.basic } });
      const sendkit = await refused('v1', 400, `${WEBHOOKS}/%zz`, { headers: v1() });
      expect(sendkit.message).toMatch(/percent-encoding/);
    });

    it('a path segment longer than the router’s limit is a 404 like any id that does not exist', async () => {
      const body = await refused('v3', 404, `${CONNECTIONS}/${'1'.repeat(150)}`, { headers: { authorization: org.basic } });
      expect(body.errors[0].code).toBe('not_found');
      await refused('v1', 404, `${WEBHOOKS}/${'a'.repeat(150)}`, { method: 'PATCH', headers: v1() });
    });
  });

  it('a body nested past 64 levels is a 400, not a stack overflow while storing or hashing it', async () => {
    const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
    for (const key of [undefined, 'deep-key']) {
      const res = await refused('v3', 400, '/api/v3/event-subscriptions/events', {
        method: 'POST',
        headers: { authorization: org.basic, 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
        body: `{"event_type":"email.sent","data":{"a":${deep(20_000)}}}`,
      });
      expect(res.errors).toHaveLength(1);
      expect(res.errors[0].detail).toBe('The body nests deeper than 64 levels.');
      expect(res.errors[0].source.pointer).toMatch(/^\/data\/data\/a(\/0)+$/);
    }
    // 64 levels (the body itself, `data`, then 62 arrays) are fine.
    const ok = await h.request('POST', '/api/v3/event-subscriptions/events', {
      auth: org,
      raw: `{"event_type":"email.sent","data":{"a":${deep(62)}}}`,
      headers: { 'content-type': 'application/json' },
    });
    expect(ok.status, ok.text).toBe(202);
  });

  describe('values PostgreSQL cannot store or compare (refused on every database alike)', () => {
    it('a NUL character in a body string is a 400 naming the field', async () => {
      const res = await h.request('POST', WEBHOOKS, {
        headers: v1(),
        body: { name: 'a\u0000b', url: 'https://example.com/hook', events: ['email.replied'] },
      });
      expect(res.status, res.text).toBe(400);
      expect(res.body).toEqual({ error: 'Bad Request', message: 'name: Null characters are not allowed.', code: 400 });
      const v3 = await h.request('PATCH', `${CONNECTIONS}/${connectionId}`, {
        auth: org,
        body: { configuration: { extra_headers: { 'X-A\u0000': 'v' } } },
      });
      expectOneError(v3, 400, 'invalid', '/data/configuration/extra_headers/X-A\u0000', 'Null characters are not allowed.');
    });

    it('a NUL character in a query parameter is a 400 naming the parameter', async () => {
      for (const path of [`${SUBSCRIPTIONS}?event_type=a%00`, '/api/v3/event-subscriptions/events?event_type=%00']) {
        const res = await h.request('GET', path, { auth: org });
        expectOneError(res, 400, 'invalid', undefined, 'Null characters are not allowed.');
        expect(res.body.errors[0].source).toEqual({ parameter: 'event_type' });
      }
    });

    it('credentials with a NUL character are invalid credentials (401)', async () => {
      const basic = `Basic ${Buffer.from('pk_\u0000x:sk_y').toString('base64')}`;
      const res = await h.request('GET', CONNECTIONS, { auth: basic });
      expectOneError(res, 401, 'authentication_failed', undefined, 'Invalid credentials.');
      const token = await h.request('POST', '/oauth2/token', {
        auth: basic,
        raw: 'grant_type=client_credentials',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(token.status, token.text).toBe(401);
    });

    it('an id past 2^53 in a query filter or a body is a 400, not a bigint overflow', async () => {
      for (const name of ['subscription_id', 'connection_id', 'delivery_id']) {
        const res = await h.request('GET', `/api/v3/event-subscriptions/attempts?${name}=9223372036854776000`, { auth: org });
        expectOneError(res, 400, 'invalid', undefined, 'Ensure this value is less than or equal to 9007199254740991.');
        expect(res.body.errors[0].source).toEqual({ parameter: name });
      }
      const deliveries = await h.request('GET', '/api/v3/event-subscriptions/deliveries?event_id=1e19', { auth: org });
      expectOneError(deliveries, 400, 'invalid', undefined);
      const res = await h.request('POST', SUBSCRIPTIONS, {
        auth: org,
        body: { connection_id: 1e19, event_type: 'parcels.event.created' },
      });
      expectOneError(res, 400, 'invalid', '/data/connection_id', 'Ensure this value is less than or equal to 9007199254740991.');
    });
  });
});
