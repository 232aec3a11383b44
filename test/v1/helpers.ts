import { expect } from 'vitest';
import type { ApiResponse, Credentials, TestHerald } from '../support/herald.js';

export const WEBHOOKS = '/v1/webhooks';
export const CONNECTIONS = '/api/v3/event-subscriptions/connections';
export const SUBSCRIPTIONS = '/api/v3/event-subscriptions/subscriptions';
export const EVENTS = '/api/v3/event-subscriptions/events';
export const DELIVERIES = '/api/v3/event-subscriptions/deliveries';

/** ISO 8601 in UTC with milliseconds, e.g. 2024-06-01T10:00:00.000Z. */
export const ISO_MILLIS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** A `/v1` request authenticated the SendKit way: the secret key in `X-Api-Key`. */
export function v1(
  h: TestHerald,
  org: Credentials,
  method: string,
  path: string,
  body?: unknown,
): Promise<ApiResponse> {
  return h.request(method, path, {
    headers: { 'x-api-key': org.secret_key },
    ...(body !== undefined ? { body } : {}),
  });
}

/** Creates a webhook through `/v1` and returns its `data`. */
export async function createWebhook(h: TestHerald, org: Credentials, fields: Record<string, unknown>) {
  const res = await v1(h, org, 'POST', WEBHOOKS, { name: 'Hook', events: ['email.replied'], ...fields });
  expect(res.status, res.text).toBe(201);
  return res.body.data;
}

/** Publishes one event through v3 (HTTP Basic) and expects it accepted. */
export async function publish(h: TestHerald, org: Credentials, eventType: string, data: Record<string, unknown>) {
  const res = await h.request('POST', EVENTS, { auth: org, body: { event_type: eventType, data } });
  expect(res.status, res.text).toBe(202);
  return res.body.data;
}

/** Polls until `check` passes or `timeoutMs` runs out (deliveries and stats are asynchronous). */
export async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
