import { expect } from 'vitest';
import { ORGS, admin } from '../admin/helpers.js';
import type { TestHerald } from '../support/herald.js';

export const V3 = '/api/v3/event-subscriptions';

/** A portal session minted through the admin API. */
export async function mintSession(h: TestHerald, adminToken: string, organizationId: number, body: Record<string, unknown> = {}) {
  const res = await admin(h, adminToken, 'POST', `${ORGS}/${organizationId}/portal-sessions`, { body });
  expect(res.status, res.text).toBe(201);
  return res.body.data as { url: string; token: string; expires_at: string };
}

/** Follows a sign-in URL without following its redirect: the cookie and where it sends the browser. */
export async function signIn(url: string): Promise<{ status: number; location: string | null; setCookie: string | null; cookie: string | undefined }> {
  const res = await fetch(url, { redirect: 'manual' });
  const setCookie = res.headers.get('set-cookie');
  const cookie = setCookie ? /herald_portal=([^;]*)/.exec(setCookie)?.[1] : undefined;
  return { status: res.status, location: res.headers.get('location'), setCookie, cookie: cookie || undefined };
}

/** A browser-like client of one portal session: its cookie, and the CSRF token the page reads. */
export async function portalClient(h: TestHerald, cookie: string) {
  const session = await h.request('GET', '/portal/api/session', { headers: { cookie: `herald_portal=${cookie}` } });
  expect(session.status, session.text).toBe(200);
  const csrf = session.body.data.csrf_token as string;
  return {
    session: session.body.data,
    csrf,
    request(method: string, path: string, options: { body?: unknown; csrf?: string | null } = {}) {
      const headers: Record<string, string> = { cookie: `herald_portal=${cookie}` };
      const token = options.csrf === undefined ? csrf : options.csrf;
      if (token !== null && method !== 'GET') headers['x-csrf-token'] = token;
      return h.request(method, path.startsWith('/') && !path.startsWith('/api') && !path.startsWith('/portal') ? `${V3}${path}` : path, {
        headers,
        ...(options.body !== undefined ? { body: options.body } : {}),
      });
    },
  };
}
