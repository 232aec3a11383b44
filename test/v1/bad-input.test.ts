import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiResponse, type Credentials, DATABASES, type TestHerald, startHerald } from '../support/herald.js';
import { CONNECTIONS, SUBSCRIPTIONS, WEBHOOKS, createWebhook, v1 } from './helpers.js';

const VALID = { name: 'Valid', url: 'https://example.com/hook', events: ['email.replied'] };
const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
};

/** The SendKit error shape, with a message naming the problem. */
function expectError(res: ApiResponse, status: number, message?: RegExp) {
  expect(res.status, res.text).toBe(status);
  expect(res.body).toEqual({ error: REASONS[status], message: expect.any(String), code: status });
  expect(res.body.message.length).toBeGreaterThan(0);
  if (message) expect(res.body.message).toMatch(message);
}

describe.each(DATABASES)('/v1 bad input on %s', (kind) => {
  let h: TestHerald;
  let org: Credentials;
  let other: Credentials;
  let existing: { _id: string };
  let othersWebhook: { _id: string };

  /** Everything both dialects can see, to prove a refused request changed nothing. */
  const snapshot = async () => ({
    v1: (await v1(h, org, 'GET', `${WEBHOOKS}?limit=100`)).body,
    connections: (await h.request('GET', CONNECTIONS, { auth: org })).body,
    subscriptions: (await h.request('GET', SUBSCRIPTIONS, { auth: org })).body,
    others: (await v1(h, other, 'GET', `${WEBHOOKS}?limit=100`)).body,
  });

  beforeAll(async () => {
    h = await startHerald(kind, {}, { workers: false });
    org = await h.createOrg();
    other = await h.createOrg();
    existing = await createWebhook(h, org, { url: 'https://example.com/existing', events: ['email.sent'] });
    othersWebhook = await createWebhook(h, other, { url: 'https://example.com/theirs' });
  });
  afterAll(async () => {
    await h.close();
  });

  const badCreates: Array<[string, unknown, RegExp]> = [
    ['missing name', { url: VALID.url, events: VALID.events }, /^name: This field is required\.$/],
    ['blank name', { ...VALID, name: '   ' }, /^name: This field may not be blank\.$/],
    ['empty name', { ...VALID, name: '' }, /^name: /],
    ['name not a string', { ...VALID, name: 42 }, /^name: /],
    ['missing url', { name: 'x', events: VALID.events }, /^url: This field is required\.$/],
    ['bad url', { ...VALID, url: 'not a url' }, /^url: Enter a valid URL\.$/],
    ['non-http url', { ...VALID, url: 'ftp://example.com/x' }, /^url: Enter a valid URL\.$/],
    ['missing events', { name: 'x', url: VALID.url }, /^events: This field is required\.$/],
    ['empty events', { ...VALID, events: [] }, /^events: This list may not be empty\.$/],
    ['events not a list', { ...VALID, events: 'email.replied' }, /^events: /],
    ['unknown event', { ...VALID, events: ['email.replied', 'email.teleported'] }, /^events\.1: "email.teleported" is not a valid choice\.$/],
    ['retryAttempts 11', { ...VALID, retryAttempts: 11 }, /^retryAttempts: .*10/],
    ['retryAttempts -1', { ...VALID, retryAttempts: -1 }, /^retryAttempts: .*0/],
    ['retryAttempts 1.5', { ...VALID, retryAttempts: 1.5 }, /^retryAttempts: /],
    ['retryAttempts as text', { ...VALID, retryAttempts: '3' }, /^retryAttempts: /],
    ['timeoutMs 999', { ...VALID, timeoutMs: 999 }, /^timeoutMs: .*1000/],
    ['timeoutMs 30001', { ...VALID, timeoutMs: 30001 }, /^timeoutMs: .*30000/],
    ['short secret', { ...VALID, secret: 'short' }, /^secret: /],
    ['status on create', { ...VALID, status: 'active' }, /^status: Unknown field\.$/],
    ['unknown field', { ...VALID, colour: 'blue' }, /^colour: Unknown field\.$/],
    ['not an object', [VALID], /./],
    ['empty body', undefined, /name: This field is required\./],
  ];

  it.each(badCreates)('refuses a create with %s (400) and changes nothing', async (_case, body, message) => {
    const before = await snapshot();
    // An empty body is sent with a JSON content type, as SendKit's samples do.
    const res =
      body === undefined
        ? await h.request('POST', WEBHOOKS, {
            raw: '',
            headers: { 'x-api-key': org.secret_key, 'content-type': 'application/json' },
          })
        : await v1(h, org, 'POST', WEBHOOKS, body);
    expectError(res, 400, message);
    expect(await snapshot()).toEqual(before);
  });

  const badPatches: Array<[string, unknown, RegExp]> = [
    ['blank name', { name: ' ' }, /^name: /],
    ['empty events', { events: [] }, /^events: /],
    ['unknown event', { events: ['nope.nope'] }, /^events\.0: /],
    ['retryAttempts 11', { retryAttempts: 11 }, /^retryAttempts: /],
    ['timeoutMs 999', { timeoutMs: 999 }, /^timeoutMs: /],
    ['bad url', { url: 'http://' }, /^url: /],
    ['bad status', { status: 'paused' }, /^status: /],
    ['null field', { name: null }, /^name: /],
    ['unknown field', { workspaceId: 'ws_1' }, /^workspaceId: Unknown field\.$/],
    // Valid fields alongside an invalid one do not apply either.
    ['a valid and an invalid field', { name: 'Changed', events: ['email.sent', 'x.y'] }, /^events\.1: /],
  ];

  it.each(badPatches)('refuses a PATCH with %s (400) and changes nothing', async (_case, body, message) => {
    const before = await snapshot();
    expectError(await v1(h, org, 'PATCH', `${WEBHOOKS}/${existing._id}`, body), 400, message);
    expect(await snapshot()).toEqual(before);
  });

  const ids: Array<[string, () => string]> = [
    ["another workspace's id", () => othersWebhook._id],
    ['an unknown id', () => '0123456789abcdef01234567'],
    ['an id of 23 hex chars', () => '0123456789abcdef0123456'],
    ['a non-hex id', () => 'zzzzzzzzzzzzzzzzzzzzzzzz'],
    ['a numeric v3 id', () => '1'],
  ];

  it.each(ids)('answers 404 for %s on every route and changes nothing', async (_case, id) => {
    const before = await snapshot();
    expectError(await v1(h, org, 'GET', `${WEBHOOKS}/${id()}`), 404);
    expectError(await v1(h, org, 'PATCH', `${WEBHOOKS}/${id()}`, { name: 'Hijacked', status: 'inactive' }), 404);
    expectError(await v1(h, org, 'POST', `${WEBHOOKS}/${id()}/test`), 404);
    expectError(await v1(h, org, 'DELETE', `${WEBHOOKS}/${id()}`), 404);
    expect(await snapshot()).toEqual(before);
  });

  const credentials: Array<[string, () => Record<string, string>]> = [
    ['no key', () => ({})],
    ['a wrong X-Api-Key', () => ({ 'x-api-key': 'sk_wrong' })],
    ['a wrong bearer key', () => ({ authorization: 'Bearer sk_wrong' })],
    ['the public key', () => ({ 'x-api-key': org.public_key })],
    ['v3 Basic credentials', () => ({ authorization: org.basic })],
  ];

  it.each(credentials)('answers 401 with %s and changes nothing', async (_case, headers) => {
    const before = await snapshot();
    const calls: Array<[string, string, unknown]> = [
      ['GET', WEBHOOKS, undefined],
      ['POST', WEBHOOKS, VALID],
      ['GET', `${WEBHOOKS}/${existing._id}`, undefined],
      ['PATCH', `${WEBHOOKS}/${existing._id}`, { name: 'x' }],
      ['DELETE', `${WEBHOOKS}/${existing._id}`, undefined],
      ['POST', `${WEBHOOKS}/${existing._id}/test`, undefined],
    ];
    for (const [method, path, body] of calls) {
      expectError(await h.request(method, path, { headers: headers(), ...(body ? { body } : {}) }), 401);
    }
    expect(await snapshot()).toEqual(before);
  });

  it('refuses bodies that are not JSON, malformed or too large', async () => {
    const before = await snapshot();
    const headers = { 'x-api-key': org.secret_key };
    expectError(
      await h.request('POST', WEBHOOKS, { raw: 'name=x', headers: { ...headers, 'content-type': 'text/plain' } }),
      415,
    );
    expectError(
      await h.request('POST', WEBHOOKS, { raw: '{"name": ', headers: { ...headers, 'content-type': 'application/json' } }),
      400,
    );
    const huge = JSON.stringify({ ...VALID, name: 'x'.repeat(2 * 1024 * 1024) });
    expectError(await h.request('POST', WEBHOOKS, { raw: huge, headers: { ...headers, 'content-type': 'application/json' } }), 413);
    expect(await snapshot()).toEqual(before);
  });

  it('refuses bad list parameters', async () => {
    const beyondAnyId = Buffer.from('100000000000000000000').toString('base64url');
    for (const query of ['limit=0', 'limit=101', 'limit=abc', 'cursor=%21%21', `cursor=${beyondAnyId}`]) {
      expectError(await v1(h, org, 'GET', `${WEBHOOKS}?${query}`), 400, /^(limit|cursor): /);
    }
  });
});
