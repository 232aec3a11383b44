import { expect } from 'vitest';
import { CALLBACK_PATH } from '../../src/connectors/klaviyo/settings.js';
import type { FakeKlaviyo } from '../support/fake-klaviyo.js';
import { type Credentials, type DatabaseKind, type TestHerald, apiRequest, startHerald } from '../support/herald.js';
import { freePort } from '../support/ports.js';

export { apiRequest, freePort };

export const CONNECTIONS = '/api/v3/event-subscriptions/connections';


/**
 * startHerald on a port chosen up front, so that the public URL, and with it the redirect URI
 * registered with the fake Klaviyo, is the real one.
 */
export async function startKlaviyoHerald(
  kind: DatabaseKind,
  fake: FakeKlaviyo | undefined,
  overrides: Record<string, string> = {},
  options: { workers?: boolean } = {},
): Promise<TestHerald> {
  const port = await freePort();
  if (fake) fake.registeredRedirectUri = `http://127.0.0.1:${port}${CALLBACK_PATH}`;
  return startHerald(
    kind,
    { HERALD_RETRY_SCHEDULE: '100ms,200ms,400ms', ...(fake?.env() ?? {}), ...overrides },
    { ...options, port },
  );
}

type Api = Pick<TestHerald, 'request'>;

/** A Klaviyo connection with a subscription to parcel events. */
export async function klaviyoConnection(h: Api, org: Credentials): Promise<{ connectionId: number; subscriptionId: number }> {
  const conn = await h.request('POST', CONNECTIONS, { auth: org, body: { type: 'klaviyo', configuration: {} } });
  expect(conn.status, conn.text).toBe(201);
  expect(conn.body.data.status).toBe('pending_authorization');
  const sub = await h.request('POST', '/api/v3/event-subscriptions/subscriptions', {
    auth: org,
    body: { connection_id: conn.body.data.id, event_type: 'parcels.event.created' },
  });
  expect(sub.status, sub.text).toBe(201);
  return { connectionId: conn.body.data.id, subscriptionId: sub.body.data.id };
}

export async function startAuthorization(h: Api, org: Credentials, connectionId: number): Promise<string> {
  const res = await h.request('POST', `${CONNECTIONS}/${connectionId}/authorization`, { auth: org });
  expect(res.status, res.text).toBe(200);
  return res.body.data.authorization_url as string;
}

/** What the user's browser does: open the URL, consent at Klaviyo, follow the redirect back. */
export async function followAuthorization(url: string): Promise<{ status: number; url: string; html: string }> {
  const res = await fetch(url, { redirect: 'follow' });
  return { status: res.status, url: res.url, html: await res.text() };
}

/** Start, consent, callback: the connection is active afterwards. */
export async function authorize(h: Api, org: Credentials, connectionId: number): Promise<void> {
  const page = await followAuthorization(await startAuthorization(h, org, connectionId));
  expect(page.status, page.html).toBe(200);
  expect(page.html).toContain('Your Klaviyo account is connected');
  const conn = await h.request('GET', `${CONNECTIONS}/${connectionId}`, { auth: org });
  expect(conn.body.data.status).toBe('active');
}

export async function waitUntil(check: () => Promise<boolean> | boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
