/**
 * Property-based fuzzing of every operation in Herald's own OpenAPI document (v3 and the
 * SendKit /v1 dialect, the token endpoint and the OAuth callback page): valid input derived
 * from the request schemas and bad input of every kind. For every answer: no 5xx; every 4xx
 * in the dialect's error format; and a 4xx changes nothing in the database.
 *
 * Seeded and bounded: HERALD_FUZZ_SEED replays a run (the seed is printed, with the number
 * of cases); HERALD_FUZZ_RUNS (cases per operation) and HERALD_FUZZ_TIME_MS (per database)
 * make it longer or shorter. Operations run one after another on one organization, so a
 * failure replays with the seed of the whole file.
 *
 * No operation is skipped: the OAuth browser callback is driven with arbitrary query
 * parameters (its errors are an HTML page by design, checked as such), and Klaviyo
 * authorization can start because client settings point at the local receiver.
 *
 * Delivery workers are off, so that nothing but the request under test changes the
 * database between the two snapshots; broadcast and /v1 tests go to a local receiver.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventTypeCatalog } from '../../src/domain/event-types/catalog.js';
import { createBodyAjv } from '../../src/domain/validation.js';
import { type Receiver, startReceiver } from '../support/receiver.js';
import { type Credentials, DATABASES, type TestHerald, startHerald } from '../support/herald.js';
import { type Answer, errorFormatProblems, pools, snapshot } from './checks.js';
import { type Operation, operationsOf, poolOfField } from './operations.js';
import { type Case, caseArbitrary, encode, hasRef, resolveRefs } from './requests.js';
import { type GenOptions, Ref, toJson, valid } from './schema-arbitrary.js';

const SEED = process.env.HERALD_FUZZ_SEED ? Number(process.env.HERALD_FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
const RUNS = Number(process.env.HERALD_FUZZ_RUNS ?? 30);
const TIME_MS = Number(process.env.HERALD_FUZZ_TIME_MS ?? 45_000 / DATABASES.length);

const b64 = (text: string) => Buffer.from(text, 'latin1').toString('base64');
/** Credentials no organization has, in every shape a header can take. */
const MALFORMED_V3: Array<Record<string, string>> = [
  { authorization: 'Basic %%%not-base64' },
  { authorization: `Basic ${b64('no-colon')}` },
  { authorization: `Basic ${b64(':')}` },
  { authorization: `Basic ${b64('pk_\u0000x:sk_\u0000y')}` },
  { authorization: `Basic ${b64('\xff\xfe:\xc3')}` },
  { authorization: `Basic ${b64(`pk_${'a'.repeat(5000)}:sk`)}` },
  { authorization: 'Bearer' },
  { authorization: `Bearer ${'t'.repeat(5000)}` },
  { authorization: 'Digest username="x"' },
  { authorization: 'Basic' },
];
const MALFORMED_V1: Array<Record<string, string>> = [
  { authorization: 'Bearer' },
  { 'x-api-key': '' },
  { 'x-api-key': 'k'.repeat(5000) },
  { 'x-api-key': '\xff\xfe' },
  { authorization: `Basic ${b64('pk:sk')}` },
  { authorization: 'Bearer \xff' },
];

describe.each(DATABASES)('OpenAPI fuzzing on %s', (kind) => {
  let h: TestHerald;
  let receiver: Receiver;
  let org: Credentials;
  let foreign: Credentials;
  let bearer: string;
  let ops: Operation[];
  let gen: GenOptions;

  beforeAll(async () => {
    receiver = await startReceiver();
    h = await startHerald(
      kind,
      {
        // Authorization can start (nothing is fetched from these until a callback with a real state).
        HERALD_KLAVIYO_CLIENT_ID: 'fuzz-client',
        HERALD_KLAVIYO_CLIENT_SECRET: 'fuzz-secret',
        HERALD_KLAVIYO_AUTHORIZE_URL: `http://127.0.0.1:${receiver.port}/oauth/authorize`,
        HERALD_KLAVIYO_TOKEN_URL: `http://127.0.0.1:${receiver.port}/oauth/token`,
        HERALD_KLAVIYO_REVOKE_URL: `http://127.0.0.1:${receiver.port}/oauth/revoke`,
        HERALD_KLAVIYO_API_URL: `http://127.0.0.1:${receiver.port}`,
      },
      { workers: false },
    );
    org = await h.createOrg('fuzzed');
    foreign = await h.createOrg('foreign');
    const token = await h.request('POST', '/oauth2/token', {
      auth: org,
      raw: 'grant_type=client_credentials',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(token.status, token.text).toBe(200);
    bearer = `Bearer ${token.body.access_token}`;
    const doc = await h.request('GET', '/api/v3/openapi.json');
    expect(doc.status).toBe(200);
    ops = operationsOf(doc.body, new EventTypeCatalog());
    gen = {
      root: doc.body,
      uri: fc.stringMatching(/^\/[a-z0-9/-]{0,20}$/).map((path) => `http://127.0.0.1:${receiver.port}${path}`),
      poolOf: poolOfField,
    };
  });
  afterAll(async () => {
    await h?.close();
    await receiver?.close();
  });

  /** Keeps one resource of each kind, so that valid ids keep finding something after deletes. */
  async function replenish(): Promise<void> {
    const have = await pools(h.herald, org.organization_id);
    const ok = (res: { status: number; text: string }) => expect(res.status, res.text).toBeLessThan(300);
    if (have.connections.length < 2) {
      ok(await h.request('POST', '/api/v3/event-subscriptions/connections', { auth: org, body: { type: 'webhook', configuration: { url: receiver.url, auth_type: 'bearer', auth_config: { token: 'tok' } } } }));
      ok(await h.request('POST', '/api/v3/event-subscriptions/connections', { auth: org, body: { type: 'klaviyo', configuration: {} } }));
    }
    if (have.webhooks.length === 0) {
      ok(await h.request('POST', '/v1/webhooks', { headers: { 'x-api-key': org.secret_key }, body: { name: 'fuzz', url: receiver.url, events: ['email.replied'] } }));
    }
    if (have.subscriptions.length === 0 || have.deliveries.length === 0) {
      const conn = await h.request('POST', '/api/v3/event-subscriptions/connections', { auth: org, body: { type: 'webhook', configuration: { url: receiver.url } } });
      ok(conn);
      const eventType = 'parcels.event.created';
      ok(await h.request('POST', '/api/v3/event-subscriptions/subscriptions', { auth: org, body: { connection_id: conn.body.data.id, event_type: eventType } }));
      const sample = new EventTypeCatalog().get(eventType)?.sample;
      ok(await h.request('POST', '/api/v3/event-subscriptions/events', { auth: org, body: { event_type: eventType, data: sample } }));
    }
  }

  function authorization(c: Case, op: Operation): Record<string, string> {
    const v1 = op.dialect === 'v1';
    switch (c.auth) {
      case 'org':
        return v1 ? { 'x-api-key': org.secret_key } : { authorization: org.basic };
      case 'bearer':
        return v1 ? { authorization: `Bearer ${org.secret_key}` } : { authorization: bearer };
      case 'foreign':
        return v1 ? { 'x-api-key': foreign.secret_key } : { authorization: foreign.basic };
      case 'none':
        return {};
      case 'wrong':
        return v1 ? { 'x-api-key': 'sk_wrong' } : { authorization: `Basic ${Buffer.from('pk_wrong:sk_wrong').toString('base64')}` };
      case 'malformed': {
        const list = v1 ? MALFORMED_V1 : MALFORMED_V3;
        return list[(c.authPick ?? 0) % list.length] as Record<string, string>;
      }
    }
  }

  function formOf(value: unknown): string {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return String(JSON.stringify(value));
    return new URLSearchParams(Object.entries(value).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v) ?? ''])).toString();
  }

  async function send(op: Operation, c: Case): Promise<{ url: string; init: RequestInit; answer: Answer }> {
    const have = await pools(h.herald, org.organization_id);
    const params = resolveRefs(c.params, have) as Record<string, unknown>;
    let path = op.path.replace(/\{([^}]+)\}/g, (_m, name: string) => (c.rawParams ? String(params[name]) : encode(String(params[name]))));
    const query = c.rawQuery ?? (resolveRefs(c.query, have) as Array<[string, unknown]>).map(([k, v]) => `${encode(k)}=${encode(String(v))}`).join('&');
    if (query) path += `?${query}`;
    const headers: Record<string, string> = { ...c.headers, ...authorization(c, op) };
    let body: string | undefined;
    if (c.body && 'raw' in c.body) body = c.body.raw;
    else if (c.body && 'form' in c.body) body = formOf(resolveRefs(c.body.form, have));
    else if (c.body) body = toJson(resolveRefs(c.body.json, have));
    if (c.contentType !== undefined && body !== undefined) headers['content-type'] = c.contentType;
    const init: RequestInit = { method: c.method, headers, ...(body !== undefined ? { body } : {}) };
    const res = await fetch(`${h.baseUrl}${path}`, init);
    return { url: path, init, answer: { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() } };
  }

  /**
   * Runs cases one at a time. The time limit abandons a running case rather than stopping it;
   * the next one (of the next operation) waits for it, so no two ever overlap a snapshot.
   */
  let running: Promise<unknown> = Promise.resolve();
  function exclusive<T>(run: () => Promise<T>): Promise<T> {
    const next = running.then(run, run);
    running = next.catch(() => undefined);
    return next;
  }

  const kinds = new Map<string, number>();
  const statuses = new Map<number, number>();
  /** Statuses per operation, printed with HERALD_FUZZ_VERBOSE=1 (to see that valid input gets past validation). */
  const byOperation = new Map<string, Map<number, number>>();
  const count = <K>(m: Map<K, number>, k: K) => m.set(k, (m.get(k) ?? 0) + 1);
  let cases = 0;

  /** One case: send it, then check the answer and, for a 4xx, that nothing changed. */
  async function runCase(op: Operation, c: Case): Promise<void> {
    const name = `${op.method} ${op.path}`;
    await replenish();
    const before = await snapshot(h.herald);
    const { url, init, answer } = await send(op, c);
    cases++;
    count(kinds, c.kind);
    count(statuses, answer.status);
    count(byOperation.get(name) ?? byOperation.set(name, new Map()).get(name)!, answer.status);
    const request = `${name} [${c.kind}] → ${init.method} ${url.slice(0, 300)} ${typeof init.body === 'string' ? init.body.slice(0, 300) : ''}`;
    const reply = `${answer.status} ${answer.text.slice(0, 500)}`;
    expect(answer.status, `no 5xx: ${request}\n${reply}`).toBeLessThan(500);
    if (c.kind === 'foreign-org') {
      // Another organization's resources do not exist for it: named in the path, not found; in a body, refused.
      if (op.pathParams.length > 0 && Object.values(c.params).every((v) => v instanceof Ref)) {
        expect(answer.status, `isolation: ${request}\n${reply}`).toBe(404);
      }
      if (c.body && 'json' in c.body && hasRef(c.body.json)) expect(answer.status, `isolation: ${request}\n${reply}`).toBeGreaterThanOrEqual(400);
    }
    if (answer.status >= 400) {
      expect(errorFormatProblems(op.dialect, op.path, answer), `error format: ${request}\n${reply}`).toEqual([]);
      expect(await snapshot(h.herald), `a ${answer.status} changed nothing: ${request}\n${reply}`).toEqual(before);
    }
  }

  it('valid input is valid by the document’s own schemas (the generator holds)', () => {
    const ajv = createBodyAjv();
    const pools = { connections: [1], subscriptions: [1], events: [1], deliveries: [1], webhooks: ['a'.repeat(24)] };
    for (const op of ops) {
      if (!op.body?.documented) continue;
      const { schema, documented } = op.body;
      const validate = ajv.compile(documented);
      fc.assert(
        fc.property(valid(schema, gen), (value) => {
          const resolved = resolveRefs(value, pools);
          expect(validate(resolved), `${op.method} ${op.path}: ${toJson(resolved)} ${ajv.errorsText(validate.errors)}`).toBe(true);
        }),
        { seed: SEED, numRuns: 50 },
      );
    }
  });

  it(`drives every operation of the document (seed ${SEED})`, async () => {
    const started = Date.now();
    const deadline = started + TIME_MS;
    console.log(`openapi fuzz on ${kind}: seed ${SEED} (replay: HERALD_FUZZ_SEED=${SEED}), ${ops.length} operations, up to ${RUNS} cases each, ${TIME_MS} ms`);
    for (const [index, op] of ops.entries()) {
      // Each operation gets an equal share of the time left, so the last ones run too.
      const budget = Math.max(200, Math.floor((deadline - Date.now()) / (ops.length - index)));
      await fc.assert(
        fc.asyncProperty(caseArbitrary(op, gen), (c) => exclusive(() => runCase(op, c))),
        { seed: SEED + index, numRuns: RUNS, plugins: [fc.interruptAfterTimeLimit(budget)] },
      );
    }
    await running;

    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const list = (m: Map<string | number, number>) => [...m].sort().map(([k, n]) => `${k}:${n}`).join(' ');
    console.log(`openapi fuzz on ${kind}: seed ${SEED}, ${cases} cases over ${byOperation.size} operations in ${seconds} s`);
    console.log(`  kinds ${list(kinds)}\n  statuses ${list(statuses)}`);
    if (process.env.HERALD_FUZZ_VERBOSE) for (const [op, m] of byOperation) console.log(`  ${op}: ${list(m)}`);
    // Every operation ran at least once (a time limit may cut runs short, never skip one).
    expect([...byOperation.keys()].sort()).toEqual(ops.map((o) => `${o.method} ${o.path}`).sort());
    // The time limit ends the runs; this only has to leave room for the last one and a shrink.
  }, TIME_MS + 60_000);
});
