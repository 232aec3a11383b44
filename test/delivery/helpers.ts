import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import type { Credentials, TestHerald } from '../support/herald.js';
import type { Received } from '../support/receiver.js';
import { parcelEvent } from '../support/events.js';

export const ES = '/api/v3/event-subscriptions';
export const CONNECTIONS = `${ES}/connections`;
export const SUBSCRIPTIONS = `${ES}/subscriptions`;
export const EVENTS = `${ES}/events`;
export const DELIVERIES = `${ES}/deliveries`;
export const ATTEMPTS = `${ES}/attempts`;
export const PARCEL = 'parcels.event.created';

/** What the delivery tests need of an API client: an in-process TestHerald or a child process. */
export type Api = Pick<TestHerald, 'request'>;

export interface Hook {
  connection: any;
  subscription: any;
}

/** A webhook connection with the given configuration and one subscription to `eventType`. */
export async function createHook(
  h: Api,
  org: Credentials,
  configuration: Record<string, unknown>,
  eventType = PARCEL,
): Promise<Hook> {
  const conn = await h.request('POST', CONNECTIONS, {
    auth: org,
    body: { type: 'webhook', configuration: { auth_type: 'none', ...configuration } },
  });
  expect(conn.status, conn.text).toBe(201);
  const sub = await h.request('POST', SUBSCRIPTIONS, {
    auth: org,
    body: { connection_id: conn.body.data.id, event_type: eventType },
  });
  expect(sub.status, sub.text).toBe(201);
  return { connection: conn.body.data, subscription: sub.body.data };
}

export async function subscribe(h: Api, org: Credentials, connectionId: number, eventType: string, isActive = true) {
  const sub = await h.request('POST', SUBSCRIPTIONS, {
    auth: org,
    body: { connection_id: connectionId, event_type: eventType, is_active: isActive },
  });
  expect(sub.status, sub.text).toBe(201);
  return sub.body.data;
}

/** Publishes one event and expects it accepted; answers `data` of the 202. */
export async function publish(h: Api, org: Credentials, event: unknown = parcelEvent(), headers?: Record<string, string>) {
  const res = await h.request('POST', EVENTS, { auth: org, body: event, ...(headers ? { headers } : {}) });
  expect(res.status, res.text).toBe(202);
  return res.body.data;
}

export async function publishBatch(h: Api, org: Credentials, events: unknown[]) {
  const res = await h.request('POST', `${EVENTS}/batch`, { auth: org, body: { events } });
  expect(res.status, res.text).toBe(202);
  expect(res.body.data).toHaveLength(events.length);
  return res.body.data as any[];
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it answers something other than undefined/false, or fails at the deadline. */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    last = value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${String(last)})`);
    await sleep(everyMs);
  }
}

export async function getDelivery(h: Api, org: Credentials, id: number) {
  const res = await h.request('GET', `${DELIVERIES}/${id}`, { auth: org });
  expect(res.status, res.text).toBe(200);
  return res.body.data;
}

/** Every delivery matching the query, following `meta.next_cursor` (newest first). */
export async function listAll(h: Api, org: Credentials, path: string, query: Record<string, string | number> = {}) {
  const out: any[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 1000; page++) {
    const params = new URLSearchParams({ limit: '100', ...Object.fromEntries(Object.entries(query).map(([k, v]) => [k, String(v)])) });
    if (cursor) params.set('cursor', cursor);
    const res = await h.request('GET', `${path}?${params}`, { auth: org });
    expect(res.status, res.text).toBe(200);
    out.push(...res.body.data);
    cursor = res.body.meta.next_cursor;
    if (!cursor) return out;
  }
  throw new Error('pagination does not end');
}

/** The only delivery of a subscription (waits until it exists). */
export async function onlyDelivery(h: Api, org: Credentials, subscriptionId: number) {
  const list = await listAll(h, org, DELIVERIES, { subscription_id: subscriptionId });
  expect(list).toHaveLength(1);
  return list[0];
}

/** Waits until a delivery reaches `status`, and answers it with its attempts. */
export async function waitForStatus(h: Api, org: Credentials, id: number, status: string, timeoutMs = 20_000) {
  return waitUntil(
    `delivery ${id} to be ${status}`,
    async () => {
      const d = await getDelivery(h, org, id);
      return d.status === status ? d : undefined;
    },
    timeoutMs,
  );
}

/** Headers as the `standardwebhooks` package wants them. */
export function headerRecord(r: Received): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers)) if (typeof v === 'string') out[k] = v;
  return out;
}

export function parcelIdOf(r: Received): number {
  return (JSON.parse(r.body) as { data: { parcel: { parcel_id: number } } }).data.parcel.parcel_id;
}

/** A TCP port that nothing listens on (bound, then closed). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Prometheus text → value of one sample (name with its label set, as printed), or undefined. */
export function metricValue(text: string, sample: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    if (at > 0 && line.slice(0, at) === sample) return Number(line.slice(at + 1));
  }
  return undefined;
}

/** A header from a logged header object, whatever the case of its name. */
export function logged(headers: Record<string, string>, name: string): string | undefined {
  const hit = Object.entries(headers).find(([k]) => k.toLowerCase() === name.toLowerCase());
  return hit?.[1];
}
