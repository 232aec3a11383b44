/**
 * Bad input is refused with the exact status, JSON:API error code, pointer (and detail where
 * the reference API's wording is fixed), and leaves everything as it was: the organization's
 * lists are compared before and after, and a PATCHed resource is read back unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Credentials, DATABASES, type TestHerald, startHerald } from '../support/herald.js';
import {
  CONNECTIONS,
  type Json,
  type Resource,
  SUBSCRIPTIONS,
  createConnection,
  createSubscription,
  expectOneError,
  snapshot,
} from './helpers.js';

const EVENT = 'parcels.event.created';
const REQUIRED = 'This field is required.';
const NULL = 'This field may not be null.';
const NOT_A_STRING = 'Not a valid string.';
const NOT_AN_INTEGER = 'A valid integer is required.';
const NOT_A_BOOLEAN = 'Must be a valid boolean.';
const UNKNOWN = 'Unknown field.';
const BAD_URL = 'Enter a valid URL.';
const notAChoice = (value: string) => `"${value}" is not a valid choice.`;
const notADict = (type: string) => `Expected a dictionary of items but got type "${type}".`;

type Case = [name: string, input: Resource, code: string, pointer: string, detail?: string];

/** Bad webhook `configuration` fields: sent inside a create, and as a PATCH of a connection. */
const CONFIGURATION_CASES: Case[] = [
  ['unknown field inside configuration', { colour: 'blue' }, 'unknown_field', '/data/configuration/colour', UNKNOWN],
  ['auth_type "oauth"', { auth_type: 'oauth' }, 'invalid_choice', '/data/configuration/auth_type', notAChoice('oauth')],
  ['auth_type of the wrong type', { auth_type: 1 }, 'invalid', '/data/configuration/auth_type', NOT_A_STRING],
  ['ftp URL', { url: 'ftp://example.com/hooks' }, 'invalid', '/data/configuration/url', BAD_URL],
  ['relative URL', { url: '/hooks/sendcloud' }, 'invalid', '/data/configuration/url', BAD_URL],
  ['URL without a scheme', { url: 'example.com/hooks' }, 'invalid', '/data/configuration/url', BAD_URL],
  ['URL of the wrong type', { url: 42 }, 'invalid', '/data/configuration/url', NOT_A_STRING],
  ['null URL', { url: null }, 'null', '/data/configuration/url', NULL],
  ['bearer without token', { auth_type: 'bearer', auth_config: {} }, 'required', '/data/configuration/auth_config/token', REQUIRED],
  ['basic without password', { auth_type: 'basic', auth_config: { username: 'u' } }, 'required', '/data/configuration/auth_config/password', REQUIRED],
  ['basic without username', { auth_type: 'basic', auth_config: { password: 'p' } }, 'required', '/data/configuration/auth_config/username', REQUIRED],
  ['api_key without header_name', { auth_type: 'api_key', auth_config: { api_key: 'k' } }, 'required', '/data/configuration/auth_config/header_name', REQUIRED],
  ['api_key without api_key', { auth_type: 'api_key', auth_config: { header_name: 'X-Api-Key' } }, 'required', '/data/configuration/auth_config/api_key', REQUIRED],
  ['auth_config as a string', { auth_type: 'bearer', auth_config: 'tok' }, 'invalid', '/data/configuration/auth_config', notADict('str')],
  ['extra_headers as a list', { extra_headers: ['X-A: b'] }, 'invalid', '/data/configuration/extra_headers', notADict('list')],
  ['extra header value of the wrong type', { extra_headers: { 'X-Count': 3 } }, 'invalid', '/data/configuration/extra_headers/X-Count', NOT_A_STRING],
  ['extra header name with a space', { extra_headers: { 'X Bad': 'v' } }, 'invalid', '/data/configuration/extra_headers/X Bad'],
  ['extra header value with CR/LF', { extra_headers: { 'X-Note': 'a\r\nX-Injected: 1' } }, 'invalid', '/data/configuration/extra_headers/X-Note'],
  ['reserved extra header Host', { extra_headers: { Host: 'evil.example' } }, 'invalid', '/data/configuration/extra_headers/Host'],
  ['reserved extra header Content-Length', { extra_headers: { 'Content-Length': '1' } }, 'invalid', '/data/configuration/extra_headers/Content-Length'],
  ['reserved extra header Content-Type', { extra_headers: { 'Content-Type': 'text/plain' } }, 'invalid', '/data/configuration/extra_headers/Content-Type'],
  ['reserved extra header webhook-id', { extra_headers: { 'webhook-id': 'msg_1' } }, 'invalid', '/data/configuration/extra_headers/webhook-id'],
  ['reserved extra header WEBHOOK-SIGNATURE (any case)', { extra_headers: { 'WEBHOOK-SIGNATURE': 'v1,x' } }, 'invalid', '/data/configuration/extra_headers/WEBHOOK-SIGNATURE'],
  ['URL with a username and password', { url: 'https://user:pw@example.com/hooks' }, 'invalid', '/data/configuration/url'],
  ['the same extra header twice, in two cases', { extra_headers: { 'X-A': '1', 'x-a': '2' } }, 'invalid', '/data/configuration/extra_headers/x-a'],
  ['Authorization in extra_headers beside bearer auth', { auth_type: 'bearer', auth_config: { token: 't' }, extra_headers: { Authorization: 'Bearer other' } }, 'invalid', '/data/configuration/extra_headers/Authorization'],
  ['the api_key header in extra_headers too', { auth_type: 'api_key', auth_config: { header_name: 'X-Api-Key', api_key: 'k' }, extra_headers: { 'x-api-key': 'other' } }, 'invalid', '/data/configuration/extra_headers/x-api-key'],
  ['retry_attempts 11', { retry_attempts: 11 }, 'invalid', '/data/configuration/retry_attempts'],
  ['retry_attempts -1', { retry_attempts: -1 }, 'min_value', '/data/configuration/retry_attempts'],
  ['retry_attempts "5"', { retry_attempts: '5' }, 'invalid', '/data/configuration/retry_attempts', NOT_AN_INTEGER],
  ['retry_attempts 2.5', { retry_attempts: 2.5 }, 'invalid', '/data/configuration/retry_attempts', NOT_AN_INTEGER],
  ['timeout_ms 999', { timeout_ms: 999 }, 'min_value', '/data/configuration/timeout_ms'],
  ['timeout_ms 30001', { timeout_ms: 30001 }, 'invalid', '/data/configuration/timeout_ms'],
];

const CREATE_CONNECTION_CASES: Case[] = [
  ['missing type', { configuration: { url: 'https://example.com/h' } }, 'required', '/data/type', REQUIRED],
  ['null type', { type: null, configuration: { url: 'https://example.com/h' } }, 'null', '/data/type', NULL],
  ['type of the wrong type', { type: 7, configuration: { url: 'https://example.com/h' } }, 'invalid', '/data/type', NOT_A_STRING],
  ['unknown type', { type: 'ftp', configuration: { url: 'https://example.com/h' } }, 'invalid_choice', '/data/type', notAChoice('ftp')],
  ['missing configuration', { type: 'webhook' }, 'required', '/data/configuration', REQUIRED],
  ['null configuration', { type: 'webhook', configuration: null }, 'null', '/data/configuration', NULL],
  ['configuration as a string', { type: 'webhook', configuration: 'https://example.com/h' }, 'invalid', '/data/configuration', notADict('str')],
  ['configuration as a list', { type: 'webhook', configuration: [] }, 'invalid', '/data/configuration', notADict('list')],
  ['unknown top-level field', { type: 'webhook', configuration: { url: 'https://example.com/h' }, name: 'x' }, 'unknown_field', '/data/name', UNKNOWN],
  ['webhook without url', { type: 'webhook', configuration: { auth_type: 'none' } }, 'required', '/data/configuration/url', REQUIRED],
  ['a list instead of an object', [] as unknown as Resource, 'invalid', '/data', notADict('list')],
  ['klaviyo with webhook fields', { type: 'klaviyo', configuration: { url: 'https://example.com/h' } }, 'unknown_field', '/data/configuration/url', UNKNOWN],
];

const UPDATE_CONNECTION_CASES: Case[] = [
  ['null type', { type: null }, 'null', '/data/type', NULL],
  ['type of the wrong type', { type: 7 }, 'invalid', '/data/type', NOT_A_STRING],
  ['unknown type', { type: 'ftp' }, 'invalid_choice', '/data/type', notAChoice('ftp')],
  ['another type', { type: 'klaviyo' }, 'invalid', '/data/type'],
  ['null configuration', { configuration: null }, 'null', '/data/configuration', NULL],
  ['configuration as a string', { configuration: 'https://example.com/h' }, 'invalid', '/data/configuration', notADict('str')],
  ['unknown top-level field', { name: 'x' }, 'unknown_field', '/data/name', UNKNOWN],
  ['a change of auth_type without auth_config', { configuration: { auth_type: 'basic' } }, 'required', '/data/configuration/auth_config'],
];

describe.each(DATABASES)('bad input on %s', (kind) => {
  let h: TestHerald;
  let org: Credentials;
  /** A bearer webhook with a subscription, a second webhook with another one. */
  let conn: Resource;
  let conn2: Resource;
  let free: Resource;
  let sub: Resource;
  let sub2: Resource;

  beforeAll(async () => {
    h = await startHerald(kind);
    org = await h.createOrg();
    conn = await createConnection(h, org, {
      type: 'webhook',
      configuration: {
        url: 'https://example.com/hooks/a',
        auth_type: 'bearer',
        auth_config: { token: 'tok-a' },
        extra_headers: { 'X-Custom-Header': 'a' },
      },
    });
    conn2 = await createConnection(h, org, { type: 'webhook', configuration: { url: 'https://example.com/hooks/b' } });
    free = await createConnection(h, org, { type: 'webhook', configuration: { url: 'https://example.com/hooks/c' } });
    sub = await createSubscription(h, org, { connection_id: conn.id, event_type: EVENT });
    sub2 = await createSubscription(h, org, { connection_id: conn2.id, event_type: EVENT, is_active: false });
  });
  afterAll(() => h.close());

  type Options = Parameters<TestHerald['request']>[2];

  /** Sends the request, checks the single error, and that nothing changed (`target` read back too). */
  async function rejected(
    method: string,
    path: string,
    options: Options,
    expected: { status: number; code: string; pointer?: string; detail?: string; target?: string },
  ): Promise<Json> {
    const before = await snapshot(h, org);
    const targetBefore = expected.target ? await h.request('GET', expected.target, { auth: org }) : undefined;
    const res = await h.request(method, path, { auth: org, ...options });
    expectOneError(res, expected.status, expected.code, expected.pointer, expected.detail);
    expect(await snapshot(h, org), 'the lists are unchanged').toEqual(before);
    if (targetBefore) {
      expect(targetBefore.status).toBe(200);
      expect((await h.request('GET', expected.target as string, { auth: org })).body, 'the resource is unchanged').toEqual(
        targetBefore.body,
      );
    }
    return res;
  }

  const connectionPath = () => `${CONNECTIONS}/${conn.id}`;
  const subscriptionPath = () => `${SUBSCRIPTIONS}/${sub.id}`;

  describe('POST connections', () => {
    it.each(CREATE_CONNECTION_CASES)('%s', async (_name, body, code, pointer, detail) => {
      await rejected('POST', CONNECTIONS, { body }, { status: 400, code, pointer, detail });
    });

    it.each(CONFIGURATION_CASES)('%s', async (_name, configuration, code, pointer, detail) => {
      const body = { type: 'webhook', configuration: { url: 'https://example.com/new', auth_type: 'none', ...configuration } };
      await rejected('POST', CONNECTIONS, { body }, { status: 400, code, pointer, detail });
    });
  });

  describe('PATCH connections', () => {
    it.each(UPDATE_CONNECTION_CASES)('%s', async (_name, body, code, pointer, detail) => {
      await rejected('PATCH', connectionPath(), { body }, { status: 400, code, pointer, detail, target: connectionPath() });
    });

    it.each(CONFIGURATION_CASES)('%s', async (_name, configuration, code, pointer, detail) => {
      await rejected(
        'PATCH',
        connectionPath(),
        { body: { configuration } },
        { status: 400, code, pointer, detail, target: connectionPath() },
      );
    });
  });

  describe('POST subscriptions', () => {
    const body = (fields: Resource) => ({ connection_id: free.id, event_type: EVENT, ...fields });
    const cases: Array<[string, () => Resource, string, string, string?]> = [
      ['missing connection_id', () => ({ event_type: EVENT }), 'required', '/data/connection_id', REQUIRED],
      ['missing event_type', () => ({ connection_id: free.id }), 'required', '/data/event_type', REQUIRED],
      ['null connection_id', () => body({ connection_id: null }), 'null', '/data/connection_id', NULL],
      ['connection_id "1" (a string)', () => body({ connection_id: String(free.id) }), 'invalid', '/data/connection_id', NOT_AN_INTEGER],
      ['connection_id 1.5', () => body({ connection_id: 1.5 }), 'invalid', '/data/connection_id', NOT_AN_INTEGER],
      ['connection_id 0', () => body({ connection_id: 0 }), 'min_value', '/data/connection_id'],
      ['connection_id of no connection', () => body({ connection_id: 987654321 }), 'invalid', '/data/connection_id'],
      ['connection_id 1e20, beyond any id', () => body({ connection_id: 1e20 }), 'invalid', '/data/connection_id'],
      ['unknown event_type', () => body({ event_type: 'parcels.event.deleted' }), 'invalid_choice', '/data/event_type', notAChoice('parcels.event.deleted')],
      ['event_type of the wrong type', () => body({ event_type: 5 }), 'invalid', '/data/event_type', NOT_A_STRING],
      ['is_active "yes"', () => body({ is_active: 'yes' }), 'invalid', '/data/is_active', NOT_A_BOOLEAN],
      ['null is_active', () => body({ is_active: null }), 'null', '/data/is_active', NULL],
      ['unknown field', () => body({ filter: 'x' }), 'unknown_field', '/data/filter', UNKNOWN],
      ['a duplicate of an existing subscription', () => ({ connection_id: conn.id, event_type: EVENT }), 'non_field_errors', '/data'],
    ];
    it.each(cases)('%s', async (_name, make, code, pointer, detail) => {
      await rejected('POST', SUBSCRIPTIONS, { body: make() }, { status: 400, code, pointer, detail });
    });
  });

  describe('PATCH subscriptions', () => {
    const cases: Array<[string, () => Resource, string, string, string?]> = [
      ['null connection_id', () => ({ connection_id: null }), 'null', '/data/connection_id', NULL],
      ['connection_id "1" (a string)', () => ({ connection_id: String(conn2.id) }), 'invalid', '/data/connection_id', NOT_AN_INTEGER],
      ['connection_id 0', () => ({ connection_id: 0 }), 'min_value', '/data/connection_id'],
      ['connection_id of no connection', () => ({ connection_id: 987654321 }), 'invalid', '/data/connection_id'],
      ['connection_id 1e20, beyond any id', () => ({ connection_id: 1e20 }), 'invalid', '/data/connection_id'],
      ['unknown event_type', () => ({ event_type: 'parcels.event.deleted' }), 'invalid_choice', '/data/event_type', notAChoice('parcels.event.deleted')],
      ['is_active "yes"', () => ({ is_active: 'yes' }), 'invalid', '/data/is_active', NOT_A_BOOLEAN],
      ['null is_active', () => ({ is_active: null }), 'null', '/data/is_active', NULL],
      ['unknown field', () => ({ filter: 'x' }), 'unknown_field', '/data/filter', UNKNOWN],
      ['a move onto a connection already subscribed to the event', () => ({ connection_id: conn2.id }), 'non_field_errors', '/data'],
    ];
    it.each(cases)('%s', async (_name, make, code, pointer, detail) => {
      await rejected(
        'PATCH',
        subscriptionPath(),
        { body: make() },
        { status: 400, code, pointer, detail, target: subscriptionPath() },
      );
    });
  });

  it('POST connections without any body → 400 required for type and configuration', async () => {
    const before = await snapshot(h, org);
    const res = await h.request('POST', CONNECTIONS, { auth: org });
    expect(res.status, res.text).toBe(400);
    expect(res.body.errors).toEqual([
      { status: '400', code: 'required', detail: REQUIRED, source: { pointer: '/data/type' } },
      { status: '400', code: 'required', detail: REQUIRED, source: { pointer: '/data/configuration' } },
    ]);
    expect(await snapshot(h, org)).toEqual(before);
  });

  it('the same subscription sent six times at once is created once; the others are duplicates', async () => {
    const target = await createConnection(h, org, { type: 'webhook', configuration: { url: 'https://example.com/race' } });
    const answers = await Promise.all(
      Array.from({ length: 6 }, () =>
        h.request('POST', SUBSCRIPTIONS, { auth: org, body: { connection_id: target.id, event_type: EVENT } }),
      ),
    );
    const created = answers.filter((r) => r.status === 201);
    expect(created, answers.map((r) => r.text).join('\n')).toHaveLength(1);
    for (const r of answers.filter((a) => a.status !== 201)) expectOneError(r, 400, 'non_field_errors', '/data');
    const list = await h.request('GET', SUBSCRIPTIONS, { auth: org });
    expect(list.body.data.filter((s: Resource) => s.connection_id === target.id)).toEqual([created[0]?.body.data]);
    // Leave the organization as the other tests expect it.
    expect((await h.request('DELETE', `${CONNECTIONS}/${target.id}`, { auth: org })).status).toBe(204);
  });

  it.each([
    [`${CONNECTIONS}?connection_type=ftp`, 'invalid_choice', 'connection_type', notAChoice('ftp')],
    [`${SUBSCRIPTIONS}?is_active=maybe`, 'invalid', 'is_active', NOT_A_BOOLEAN],
  ])('a bad query parameter: GET %s → 400 at the parameter', async (path, code, parameter, detail) => {
    const res = await h.request('GET', path, { auth: org });
    expect(res.status, res.text).toBe(400);
    expect(res.body.errors).toEqual([{ status: '400', code, detail, source: { parameter } }]);
  });

  it('the range limits themselves are accepted (retry_attempts 0 and 10, timeout_ms 1000 and 30000)', async () => {
    for (const limits of [{ retry_attempts: 0, timeout_ms: 30000 }, { retry_attempts: 10, timeout_ms: 1000 }]) {
      const created = await createConnection(h, org, { type: 'webhook', configuration: { url: 'https://example.com/limits', ...limits } });
      expect(created.configuration).toMatchObject(limits);
      expect((await h.request('DELETE', `${CONNECTIONS}/${created.id}`, { auth: org })).status).toBe(204);
    }
  });

  /** The four writes, each with a body that would be accepted. */
  const writes: Array<[string, string, () => string, () => Resource, (() => string) | undefined]> = [
    ['POST connections', 'POST', () => CONNECTIONS, () => ({ type: 'webhook', configuration: { url: 'https://example.com/ok' } }), undefined],
    ['PATCH a connection', 'PATCH', connectionPath, () => ({ configuration: { url: 'https://example.com/ok' } }), connectionPath],
    ['POST subscriptions', 'POST', () => SUBSCRIPTIONS, () => ({ connection_id: free.id, event_type: EVENT }), undefined],
    ['PATCH a subscription', 'PATCH', subscriptionPath, () => ({ is_active: false }), subscriptionPath],
  ];

  describe.each(writes)('%s: transport', (_name, method, path, valid, target) => {
    it('malformed JSON → 400 invalid', async () => {
      const raw = JSON.stringify(valid()).slice(0, -1);
      const res = await rejected(
        method,
        path(),
        { raw, headers: { 'content-type': 'application/json' } },
        { status: 400, code: 'invalid', target: target?.() },
      );
      expect(res.body.errors[0].source).toBeUndefined();
    });

    it('text/plain → 415', async () => {
      await rejected(
        method,
        path(),
        { raw: JSON.stringify(valid()), headers: { 'content-type': 'text/plain' } },
        { status: 415, code: 'invalid', target: target?.() },
      );
    });

    it('a body over 1 MiB → 413', async () => {
      const raw = JSON.stringify({ ...valid(), padding: 'x'.repeat(1024 * 1024) });
      await rejected(
        method,
        path(),
        { raw, headers: { 'content-type': 'application/json' } },
        { status: 413, code: 'invalid', target: target?.() },
      );
    });

    it('no credentials → 401 authentication_failed', async () => {
      await rejected(method, path(), { body: valid(), auth: null }, { status: 401, code: 'authentication_failed', target: target?.() });
    });

    it('a wrong secret key → 401 authentication_failed', async () => {
      const wrong = `Basic ${Buffer.from(`${org.public_key}:sk_wrong`).toString('base64')}`;
      await rejected(method, path(), { body: valid(), auth: wrong }, { status: 401, code: 'authentication_failed', target: target?.() });
    });
  });

  describe('path ids that are not a positive integer, or of nothing', () => {
    const ids = ['abc', '0', '-1', '1.5', '1e3', '987654321'];
    const resources: Array<[string, string, Resource]> = [
      ['connection', CONNECTIONS, { configuration: { url: 'https://example.com/ok' } }],
      ['subscription', SUBSCRIPTIONS, { is_active: false }],
    ];
    for (const [name, collection, patch] of resources) {
      it.each(ids)(`GET, PATCH and DELETE of ${name} "%s" → 404 not_found`, async (id) => {
        for (const method of ['GET', 'PATCH', 'DELETE']) {
          await rejected(
            method,
            `${collection}/${id}`,
            method === 'PATCH' ? { body: patch } : {},
            { status: 404, code: 'not_found' },
          );
        }
      });
    }
  });

  it('an unknown route → 404', async () => {
    for (const path of ['/api/v3/event-subscriptions/nothing', '/api/v3/nothing', `${CONNECTIONS}/${conn.id}/nothing`]) {
      await rejected('GET', path, {}, { status: 404, code: 'not_found' });
    }
  });

  it.each([
    ['the connections', () => CONNECTIONS, ['GET', 'POST']],
    ['a connection', connectionPath, ['GET', 'PATCH', 'DELETE']],
    ['the subscriptions', () => SUBSCRIPTIONS, ['GET', 'POST']],
    ['a subscription', subscriptionPath, ['GET', 'PATCH', 'DELETE']],
  ] as Array<[string, () => string, string[]]>)('PUT on %s → 405 with Allow', async (_name, path, allowed) => {
    const res = await rejected(
      'PUT',
      path(),
      { body: { type: 'webhook', configuration: { url: 'https://example.com/put' } } },
      { status: 405, code: 'invalid' },
    );
    const allow = (res.headers.get('allow') ?? '').split(',').map((m: string) => m.trim());
    for (const method of allowed) expect(allow).toContain(method);
    expect(allow).not.toContain('PUT');
  });

  it('the fixtures still stand after every refusal', async () => {
    const connections = await h.request('GET', CONNECTIONS, { auth: org });
    expect(connections.body.data).toEqual([conn, conn2, free]);
    const subscriptions = await h.request('GET', SUBSCRIPTIONS, { auth: org });
    expect(subscriptions.body.data).toEqual([sub, sub2]);
  });
});
