import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORGS, admin, createOrganization, issueKey, newAdminToken } from '../admin/helpers.js';
import { parcelEvent } from '../support/events.js';
import { DATABASES, type TestHerald, startHerald } from '../support/herald.js';
import { freePort } from '../support/ports.js';
import { type Receiver, startReceiver } from '../support/receiver.js';
import { V3, mintSession, portalClient, signIn } from './helpers.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const ALL = ['manage_connections', 'view_secrets', 'manage_secrets', 'retry'];

describe.each(DATABASES)('portal sessions (%s)', (kind) => {
  let h: TestHerald;
  let receiver: Receiver;
  const token = newAdminToken();

  beforeAll(async () => {
    receiver = await startReceiver();
    // A known port: the session URL is built from HERALD_PUBLIC_URL.
    h = await startHerald(
      kind,
      { HERALD_ADMIN_TOKEN: token, HERALD_PORTAL_FRAME_ANCESTORS: "'self' http://localhost:1234", HERALD_RETRY_SCHEDULE: '100ms' },
      { port: await freePort() },
    );
  });
  afterAll(async () => {
    await h?.close();
    await receiver?.close();
  });

  async function orgWithKey() {
    const org = await createOrganization(h, token, { name: `portal-${Math.random().toString(36).slice(2)}` });
    return { org, key: await issueKey(h, token, org.id) };
  }

  it('mints a session: 201 with url, token and expiry; the token is stored only as its hash', async () => {
    const { org } = await orgWithKey();
    const before = Date.now();
    const s = await mintSession(h, token, org.id);
    expect(s.url).toBe(`${h.baseUrl}/portal/sign-in?token=${encodeURIComponent(s.token)}`);
    const expires = Date.parse(s.expires_at);
    expect(expires).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 3600_000 - 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 3600_000);
    const rows = await h.herald.store.db.selectFrom('portal_sessions').selectAll().where('organization_id', '=', org.id).execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.token_hash).toBe(sha256(s.token));
    expect(JSON.stringify(rows)).not.toContain(s.token);
    expect(JSON.parse(rows[0]!.capabilities)).toEqual(['view']);
  });

  it('refuses bad input precisely and creates nothing', async () => {
    const { org } = await orgWithKey();
    const cases: Array<[unknown, string]> = [
      [{ expires_in: 7 * 86400 + 1 }, '/data/expires_in'],
      [{ capabilities: ['view', 'admin'] }, '/data/capabilities/1'],
      [{ theme: { accent_color: 'red;}' } }, '/data/theme/accent_color'],
      [{ theme: { logo_url: 'javascript:alert(1)' } }, '/data/theme/logo_url'],
      [{ extra: 1 }, '/data/extra'],
    ];
    for (const [body, pointer] of cases) {
      const res = await admin(h, token, 'POST', `${ORGS}/${org.id}/portal-sessions`, { body });
      expect(res.status, res.text).toBe(400);
      expect(res.body.errors.map((e: any) => e.source?.pointer)).toContain(pointer);
    }
    expect((await admin(h, token, 'POST', `${ORGS}/999999/portal-sessions`, { body: {} })).status).toBe(404);
    expect((await h.request('POST', `${ORGS}/${org.id}/portal-sessions`, { body: {} })).status).toBe(401);
    const rows = await h.herald.store.db.selectFrom('portal_sessions').select('id').where('organization_id', '=', org.id).execute();
    expect(rows).toHaveLength(0);
  });

  it('signs in once: an HttpOnly cookie and a redirect to the portal; the token a second time is refused', async () => {
    const { org } = await orgWithKey();
    const s = await mintSession(h, token, org.id);
    const first = await signIn(`${s.url}&embed=1`);
    expect(first.status).toBe(303);
    expect(first.location).toBe('/portal?embed=1');
    expect(first.setCookie).toMatch(/HttpOnly/);
    expect(first.setCookie).toMatch(/SameSite=Lax/);
    expect(first.setCookie).not.toMatch(/Secure/);
    expect(first.cookie).toMatch(/^hpc_/);
    const second = await signIn(s.url);
    expect(second.status).toBe(303);
    expect(second.location).toBe('/portal?error=link');
    expect(second.cookie).toBeUndefined();
    // The cookie works; only its hash is stored.
    const client = await portalClient(h, first.cookie!);
    expect(client.session.organization.id).toBe(org.id);
    const row = await h.herald.store.db.selectFrom('portal_sessions').selectAll().where('organization_id', '=', org.id).executeTakeFirstOrThrow();
    expect(row.session_hash).toBe(sha256(first.cookie!));
  });

  it('concurrent uses of one token: exactly one signs in', async () => {
    const { org } = await orgWithKey();
    const s = await mintSession(h, token, org.id);
    const results = await Promise.all(Array.from({ length: 5 }, () => signIn(s.url)));
    expect(results.filter((r) => r.cookie !== undefined)).toHaveLength(1);
  });

  it('capabilities: the server refuses (403) what the session may not do, and allows what it may', async () => {
    const { org, key } = await orgWithKey();
    const conn = await h.request('POST', `${V3}/connections`, { auth: key, body: { type: 'webhook', configuration: { url: receiver.url } } });
    expect(conn.status, conn.text).toBe(201);
    const connectionId = conn.body.data.id;
    const sub = await h.request('POST', `${V3}/subscriptions`, { auth: key, body: { connection_id: connectionId, event_type: 'parcels.event.created' } });
    expect(sub.status, sub.text).toBe(201);

    const viewer = await portalClient(h, (await signIn((await mintSession(h, token, org.id)).url)).cookie!);
    expect(viewer.session.capabilities).toEqual(['view']);
    expect((await viewer.request('GET', '/connections')).status).toBe(200);
    expect((await viewer.request('GET', `/connections/${connectionId}/activity`)).status).toBe(200);
    const refused: Array<[string, string, unknown?]> = [
      ['POST', '/connections', { type: 'webhook', configuration: { url: receiver.url } }],
      ['PATCH', `/connections/${connectionId}`, { configuration: { url: `${receiver.url}/x` } }],
      ['DELETE', `/connections/${connectionId}`],
      ['POST', `/connections/${connectionId}/disable`],
      ['POST', `/subscriptions`, { connection_id: connectionId, event_type: 'parcels.event.created' }],
      ['PATCH', `/subscriptions/${sub.body.data.id}`, { is_active: false }],
      ['POST', `/broadcast/test/${sub.body.data.id}`],
      ['GET', `/connections/${connectionId}/secret`],
      ['POST', `/connections/${connectionId}/secret/rotate`],
      ['POST', `/deliveries/1/retry`],
      ['POST', `/subscriptions/${sub.body.data.id}/recover`, { since: new Date().toISOString() }],
    ];
    for (const [method, path, body] of refused) {
      const res = await viewer.request(method, path, body === undefined ? {} : { body });
      expect(res.status, `${method} ${path}: ${res.text}`).toBe(403);
      expect(res.body.errors[0].code).toBe('forbidden');
    }
    // Nothing changed.
    const after = await h.request('GET', `${V3}/connections/${connectionId}`, { auth: key });
    expect(after.body.data.configuration.url).toBe(receiver.url);
    expect(after.body.data.status).toBe('active');
    expect((await h.request('GET', `${V3}/connections`, { auth: key })).body.data).toHaveLength(1);
    expect(receiver.received).toHaveLength(0);

    // A session with every capability may do each of those, but never publish events.
    const full = await portalClient(h, (await signIn((await mintSession(h, token, org.id, { capabilities: ALL })).url)).cookie!);
    expect((await full.request('GET', `/connections/${connectionId}/secret`)).status).toBe(200);
    expect((await full.request('POST', `/connections/${connectionId}/secret/rotate`)).status).toBe(200);
    expect((await full.request('POST', `/broadcast/test/${sub.body.data.id}`)).status).toBe(200);
    const created = await full.request('POST', '/connections', { body: { type: 'webhook', configuration: { url: receiver.url } } });
    expect(created.status, created.text).toBe(201);
    const publish = await full.request('POST', '/events', { body: parcelEvent() });
    expect(publish.status).toBe(403);
  });

  it('CSRF: a cookie-authenticated write without the session\'s token is refused and changes nothing', async () => {
    const { org, key } = await orgWithKey();
    const client = await portalClient(h, (await signIn((await mintSession(h, token, org.id, { capabilities: ALL })).url)).cookie!);
    for (const csrf of [null, 'wrong', `${client.csrf}x`]) {
      const res = await client.request('POST', '/connections', { body: { type: 'webhook', configuration: { url: receiver.url } }, csrf });
      expect(res.status).toBe(403);
      expect(res.body.errors[0].source).toEqual({ header: 'X-CSRF-Token' });
    }
    // Another session's token is not this one's.
    const other = await portalClient(h, (await signIn((await mintSession(h, token, org.id, { capabilities: ALL })).url)).cookie!);
    expect((await client.request('POST', '/connections', { body: { type: 'webhook', configuration: { url: receiver.url } }, csrf: other.csrf })).status).toBe(403);
    expect((await h.request('GET', `${V3}/connections`, { auth: key })).body.data).toHaveLength(0);
    // Reads need no token.
    expect((await client.request('GET', '/connections', { csrf: null })).status).toBe(200);
  });

  it('expiry, suspension and sign-out end a session at once', async () => {
    const { org } = await orgWithKey();
    const s = await mintSession(h, token, org.id, { expires_in: 60 });
    expect(Date.parse(s.expires_at) - Date.now()).toBeLessThanOrEqual(60_000);
    const cookie = (await signIn(s.url)).cookie!;
    const client = await portalClient(h, cookie);
    await h.herald.store.db.updateTable('portal_sessions').set({ expires_at: Date.now() - 1 }).where('organization_id', '=', org.id).execute();
    expect((await client.request('GET', '/connections')).status).toBe(401);
    expect((await h.request('GET', '/portal/api/session', { headers: { cookie: `herald_portal=${cookie}` } })).status).toBe(401);

    // An unused token past its expiry does not sign in.
    const late = await mintSession(h, token, org.id);
    await h.herald.store.db.updateTable('portal_sessions').set({ expires_at: Date.now() - 1 }).where('token_hash', '=', sha256(late.token)).execute();
    expect((await signIn(late.url)).cookie).toBeUndefined();

    const live = await portalClient(h, (await signIn((await mintSession(h, token, org.id)).url)).cookie!);
    expect((await admin(h, token, 'PATCH', `${ORGS}/${org.id}`, { body: { status: 'suspended' } })).status).toBe(200);
    expect((await live.request('GET', '/connections')).status).toBe(401);
    expect((await admin(h, token, 'PATCH', `${ORGS}/${org.id}`, { body: { status: 'active' } })).status).toBe(200);
    expect((await live.request('GET', '/connections')).status).toBe(200);
    expect((await live.request('POST', '/portal/api/sign-out', { csrf: null })).status).toBe(403);
    expect((await live.request('POST', '/portal/api/sign-out')).status).toBe(204);
    expect((await live.request('GET', '/connections')).status).toBe(401);
  });

  it('signs in with the key pair (every capability); a wrong pair is 401', async () => {
    const { org, key } = await orgWithKey();
    const bad = await h.request('POST', '/portal/api/sign-in', { body: { public_key: key.public_key, secret_key: 'nope' } });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('set-cookie')).toBeNull();
    const res = await h.request('POST', '/portal/api/sign-in', { body: { public_key: key.public_key, secret_key: key.secret_key } });
    expect(res.status).toBe(204);
    const cookie = /herald_portal=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1];
    const client = await portalClient(h, cookie!);
    expect(client.session.organization.id).toBe(org.id);
    expect([...client.session.capabilities].sort()).toEqual(['view', ...ALL].sort());
    // A form post (not JSON) is not accepted.
    const form = await h.request('POST', '/portal/api/sign-in', {
      raw: `public_key=${key.public_key}&secret_key=${key.secret_key}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(form.status).toBe(415);
  });

  it('an API credential is never mixed with a cookie: the Authorization header decides', async () => {
    const a = await orgWithKey();
    const b = await orgWithKey();
    const cookie = (await signIn((await mintSession(h, token, a.org.id, { capabilities: ALL })).url)).cookie!;
    const res = await h.request('GET', `${V3}/connections`, { auth: b.key, headers: { cookie: `herald_portal=${cookie}` } });
    expect(res.status).toBe(200);
    await h.request('POST', `${V3}/connections`, { auth: a.key, body: { type: 'webhook', configuration: { url: receiver.url } } });
    expect((await h.request('GET', `${V3}/connections`, { auth: b.key, headers: { cookie: `herald_portal=${cookie}` } })).body.data).toHaveLength(0);
    expect((await h.request('GET', `${V3}/connections`, { headers: { cookie: 'herald_portal=hpc_forged' } })).status).toBe(401);
  });

  it('serves the page with frame-ancestors from HERALD_PORTAL_FRAME_ANCESTORS and content-hashed, cached assets', async () => {
    const page = await fetch(`${h.baseUrl}/portal`);
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("frame-ancestors 'self' http://localhost:1234");
    expect(csp).toContain("script-src 'self'");
    expect(page.headers.get('x-frame-options')).toBeNull();
    // The page names this build's files: a browser must ask for it again every time.
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const html = await page.text();
    // Vite's output: the file's name carries a hash of its content.
    const script = /src="(\/portal\/assets\/index-[\w-]{8,}\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const styles = /href="(\/portal\/assets\/index-[\w-]{8,}\.css)"/.exec(html)?.[1];
    expect(styles).toBeDefined();
    const css = await fetch(`${h.baseUrl}${styles}`);
    expect(css.headers.get('content-type')).toMatch(/text\/css/);
    expect(css.headers.get('cache-control')).toContain('immutable');
    const js = await fetch(`${h.baseUrl}${script}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toContain('immutable');
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    const again = await fetch(`${h.baseUrl}${script}`, { headers: { 'if-none-match': js.headers.get('etag')! } });
    expect(again.status).toBe(304);
    expect((await fetch(`${h.baseUrl}/portal/assets/nope.js`)).status).toBe(404);
  });

  it('activity: deliveries finished per connection from the hourly counters, 24 h and 7 d, only the organization\'s own', async () => {
    const { org, key } = await orgWithKey();
    const failing = await startReceiver((_req, res) => {
      res.writeHead(500);
      res.end('nope');
    });
    try {
      const good = await h.request('POST', `${V3}/connections`, { auth: key, body: { type: 'webhook', configuration: { url: receiver.url } } });
      const bad = await h.request('POST', `${V3}/connections`, { auth: key, body: { type: 'webhook', configuration: { url: failing.url, retry_attempts: 0 } } });
      for (const c of [good, bad]) {
        const s = await h.request('POST', `${V3}/subscriptions`, { auth: key, body: { connection_id: c.body.data.id, event_type: 'parcels.event.created' } });
        expect(s.status, s.text).toBe(201);
      }
      const already = receiver.received.length;
      for (let i = 0; i < 3; i++) expect((await h.request('POST', `${V3}/events`, { auth: key, body: parcelEvent({ parcelId: i + 1 }) })).status).toBe(202);
      await receiver.waitFor(already + 3);
      await failing.waitFor(3);
      const client = await portalClient(h, (await signIn((await mintSession(h, token, org.id)).url)).cookie!);
      let totals: any[] = [];
      for (let i = 0; i < 100; i++) {
        totals = (await client.request('GET', '/connections/activity')).body.data;
        if (totals.reduce((n: number, t: any) => n + t.succeeded + t.failed, 0) === 6) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const byId = new Map(totals.map((t: any) => [t.connection_id, t]));
      expect(byId.get(good.body.data.id)).toEqual({ connection_id: good.body.data.id, succeeded: 3, failed: 0, success_rate: 1 });
      expect(byId.get(bad.body.data.id)).toEqual({ connection_id: bad.body.data.id, succeeded: 0, failed: 3, success_rate: 0 });

      const day = (await client.request('GET', `/connections/${good.body.data.id}/activity?range=24h`)).body.data;
      expect(day.buckets).toHaveLength(24);
      expect(day.buckets.at(-1)).toMatchObject({ succeeded: 3, failed: 0 });
      expect(day).toMatchObject({ succeeded: 3, failed: 0 });
      const week = (await client.request('GET', `/connections/${bad.body.data.id}/activity?range=7d`)).body.data;
      expect(week.buckets.length).toBeGreaterThanOrEqual(28);
      expect(week.buckets.length).toBeLessThanOrEqual(29);
      expect(week).toMatchObject({ succeeded: 0, failed: 3 });
      expect((await client.request('GET', `/connections/${good.body.data.id}/activity?range=1y`)).status).toBe(400);

      // Another organization sees neither the counts nor the connection.
      const other = await orgWithKey();
      const stranger = await portalClient(h, (await signIn((await mintSession(h, token, other.org.id)).url)).cookie!);
      expect((await stranger.request('GET', '/connections/activity')).body.data).toEqual([]);
      expect((await stranger.request('GET', `/connections/${good.body.data.id}/activity`)).status).toBe(404);

      // Deleting a connection takes its counters with it.
      expect((await h.request('DELETE', `${V3}/connections/${bad.body.data.id}`, { auth: key })).status).toBe(204);
      const left = await h.herald.store.db.selectFrom('connection_outcomes').select('hour').where('connection_id', '=', bad.body.data.id).execute();
      expect(left).toHaveLength(0);
    } finally {
      await failing.close();
    }
  });
});

describe('portal sessions over https', () => {
  let h: TestHerald;
  const token = newAdminToken();
  beforeAll(async () => {
    h = await startHerald('sqlite', { HERALD_ADMIN_TOKEN: token, HERALD_PUBLIC_URL: 'https://portal.example.com' }, { workers: false });
  });
  afterAll(async () => h?.close());

  it('the cookie is Secure and SameSite=None (so it works in an iframe on the platform\'s site)', async () => {
    const org = await createOrganization(h, token, { name: 'https-org' });
    const s = await mintSession(h, token, org.id);
    expect(s.url.startsWith('https://portal.example.com/portal/sign-in?token=')).toBe(true);
    const res = await signIn(`${h.baseUrl}/portal/sign-in?token=${encodeURIComponent(s.token)}`);
    expect(res.setCookie).toMatch(/; HttpOnly/);
    expect(res.setCookie).toMatch(/; Secure; SameSite=None/);
    const page = await fetch(`${h.baseUrl}/portal`);
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'self'");
  });
});
