/**
 * Per-organization request budgets: HERALD_RATE_LIMIT_API for the API, a separate
 * HERALD_RATE_LIMIT_EVENTS for publishing events; 429 with Retry-After in each dialect's
 * error format; one budget across API processes on PostgreSQL.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimitCounters } from '../../src/store/rate-limits.js';
import { parcelEvent } from '../support/events.js';
import {
  type ApiResponse,
  type Credentials,
  DATABASES,
  type TestHerald,
  dropSchema,
  freshDatabaseEnv,
  startHerald,
} from '../support/herald.js';
import { type HeraldProcess, createKeys, ensureBuilt, killAll, spawnHerald } from '../support/process.js';

const ES = '/api/v3/event-subscriptions';
const CONNECTIONS = `${ES}/connections`;
const EVENTS = `${ES}/events`;
const WEBHOOKS = '/v1/webhooks';
const THROTTLED = /^Request was throttled\. Expected available in (\d+) seconds\.$/;

/** The 429 of the v3 dialect: JSON:API error, Retry-After in seconds matching the detail. */
function expectThrottledV3(res: ApiResponse): void {
  expect(res.status, res.text).toBe(429);
  const retryAfter = Number(res.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(res.body.errors).toHaveLength(1);
  const error = res.body.errors[0];
  expect(error).toMatchObject({ status: '429', code: 'invalid' });
  expect(Number(THROTTLED.exec(error.detail)?.[1])).toBe(retryAfter);
}

describe.each(DATABASES)('request budgets on %s', (kind) => {
  let h: TestHerald;
  beforeAll(async () => {
    h = await startHerald(kind, { HERALD_RATE_LIMIT_API: '5', HERALD_RATE_LIMIT_EVENTS: '3' }, { workers: false });
  });
  afterAll(() => h?.close());

  it('v3: the request after the budget answers 429 with Retry-After; another organization is not affected', async () => {
    const org = await h.createOrg();
    for (let i = 0; i < 5; i++) {
      const res = await h.request('GET', CONNECTIONS, { auth: org });
      expect(res.status, res.text).toBe(200);
      expect(res.headers.get('x-ratelimit-remaining')).toBe(String(4 - i));
    }
    expectThrottledV3(await h.request('GET', CONNECTIONS, { auth: org }));
    // Every API call shares the budget, invalid ones and writes included.
    expectThrottledV3(await h.request('POST', CONNECTIONS, { auth: org, body: { type: 'nope' } }));
    expectThrottledV3(await h.request('GET', `${ES}/deliveries`, { auth: org }));

    const other = await h.createOrg();
    expect((await h.request('GET', CONNECTIONS, { auth: other })).status).toBe(200);
    // Wrong credentials are refused as such, and public routes are not counted.
    expect((await h.request('GET', CONNECTIONS, { auth: `Basic ${Buffer.from(`${org.public_key}:x`).toString('base64')}` })).status).toBe(401);
    for (let i = 0; i < 8; i++) expect((await h.request('GET', '/healthz')).status).toBe(200);
  });

  it('v1: over the budget answers 429 in the SendKit format', async () => {
    const org = await h.createOrg();
    const headers = { 'x-api-key': org.secret_key };
    for (let i = 0; i < 5; i++) expect((await h.request('GET', WEBHOOKS, { headers })).status).toBe(200);
    const res = await h.request('GET', WEBHOOKS, { headers });
    expect(res.status, res.text).toBe(429);
    const retryAfter = Number(res.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(res.body).toEqual({
      error: 'Too Many Requests',
      message: `Request was throttled. Expected available in ${retryAfter} seconds.`,
      code: 429,
    });
  });

  it('publishing events has its own budget, apart from the API', async () => {
    const org = await h.createOrg();
    for (let i = 0; i < 2; i++) {
      const res = await h.request('POST', EVENTS, { auth: org, body: parcelEvent({ parcelId: 42_000 + i }) });
      expect(res.status, res.text).toBe(202);
    }
    const batch = await h.request('POST', `${EVENTS}/batch`, { auth: org, body: { events: [parcelEvent({ parcelId: 42_010 })] } });
    expect(batch.status, batch.text).toBe(202);
    expectThrottledV3(await h.request('POST', EVENTS, { auth: org, body: parcelEvent({ parcelId: 42_020 }) }));
    expectThrottledV3(await h.request('POST', `${EVENTS}/batch`, { auth: org, body: { events: [parcelEvent()] } }));
    // The API budget is untouched: five reads still pass (listing events is not publishing).
    for (let i = 0; i < 5; i++) expect((await h.request('GET', EVENTS, { auth: org })).status).toBe(200);
    expectThrottledV3(await h.request('GET', EVENTS, { auth: org }));
  });
});

describe.each(DATABASES)('a budget of 0 turns the limit off on %s', (kind) => {
  let h: TestHerald;
  beforeAll(async () => {
    h = await startHerald(kind, { HERALD_RATE_LIMIT_API: '0', HERALD_RATE_LIMIT_EVENTS: '2' }, { workers: false });
  });
  afterAll(() => h?.close());

  it('API calls are never throttled while events still are', async () => {
    const org = await h.createOrg();
    for (let i = 0; i < 12; i++) expect((await h.request('GET', CONNECTIONS, { auth: org })).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await h.request('POST', EVENTS, { auth: org, body: parcelEvent() })).status).toBe(202);
    expectThrottledV3(await h.request('POST', EVENTS, { auth: org, body: parcelEvent() }));
  });
});

const postgres = DATABASES.includes('postgres');

describe.runIf(postgres)('PostgreSQL counters', () => {
  let h: TestHerald;
  beforeAll(async () => {
    h = await startHerald('postgres', {}, { workers: false });
  });
  afterAll(() => h?.close());

  it('count within a window and start over when it ends', async () => {
    const counters = new RateLimitCounters(h.herald.store.db);
    const key = `test:${randomBytes(4).toString('hex')}`;
    const first = await counters.hit(key, 400);
    expect(first.count).toBe(1);
    expect(first.ttlMs).toBeGreaterThan(0);
    expect(first.ttlMs).toBeLessThanOrEqual(400);
    expect((await counters.hit(key, 400)).count).toBe(2);
    const third = await counters.hit(key, 400);
    expect(third.count).toBe(3);
    expect(third.ttlMs).toBeLessThanOrEqual(first.ttlMs);
    await new Promise((r) => setTimeout(r, 450));
    const fresh = await counters.hit(key, 400);
    expect(fresh.count).toBe(1);
    expect(fresh.ttlMs).toBeGreaterThan(300);
    // Concurrent requests each get their own count (one atomic upsert each).
    const counts = await Promise.all(Array.from({ length: 20 }, () => counters.hit(key, 60_000)));
    expect(counts.map((c) => c.count).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
  });
});

describe.runIf(postgres)('two API processes on one PostgreSQL database (built CLI)', () => {
  let env: Record<string, string>;
  let a: HeraldProcess;
  let b: HeraldProcess;
  let org: Credentials;

  beforeAll(async () => {
    ensureBuilt();
    env = {
      HERALD_SECRET_KEY: randomBytes(32).toString('base64'),
      HERALD_DATA_DIR: mkdtempSync(join(tmpdir(), 'herald-rate-')),
      HERALD_RATE_LIMIT_API: '6',
      ...freshDatabaseEnv('postgres', ''),
    };
    // One after the other: the first one migrates the schema.
    a = await spawnHerald({ env, role: 'api', name: 'api-a' });
    b = await spawnHerald({ env, role: 'api', name: 'api-b' });
    org = await createKeys(env, 'throttled');
  });
  afterAll(async () => {
    await killAll();
    if (env?.HERALD_DATABASE_SCHEMA) await dropSchema(env.HERALD_DATABASE_SCHEMA);
    if (env?.HERALD_DATA_DIR) rmSync(env.HERALD_DATA_DIR, { recursive: true, force: true });
  });

  it('share one budget', async () => {
    for (let i = 0; i < 6; i++) {
      const res = await (i % 2 === 0 ? a : b).request('GET', CONNECTIONS, { auth: org });
      expect(res.status, `request ${i + 1}: ${res.text}`).toBe(200);
    }
    expectThrottledV3(await a.request('GET', CONNECTIONS, { auth: org }));
    expectThrottledV3(await b.request('GET', CONNECTIONS, { auth: org }));
  });
});
