/**
 * The customer portal in a real browser (Chromium through playwright-core, test/support/browser.ts)
 * against a real Herald, a real receiver and a real SQLite file: the issue's "Done when" list.
 * Everything the page does is checked again through the API. With HERALD_PORTAL_SCREENSHOTS=<dir>
 * the main screens are saved there (the README's pictures: docs/portal).
 */
import { mkdirSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrganization, issueKey, newAdminToken } from '../admin/helpers.js';
import { launchBrowser } from '../support/browser.js';
import { parcelEvent } from '../support/events.js';
import { type Credentials, type TestHerald, startHerald } from '../support/herald.js';
import { freePort } from '../support/ports.js';
import { type Receiver, startReceiver } from '../support/receiver.js';
import { V3, mintSession } from './helpers.js';

const ALL = ['manage_connections', 'view_secrets', 'manage_secrets', 'retry'];
const SHOTS = process.env.HERALD_PORTAL_SCREENSHOTS;

async function shot(page: Page, name: string) {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** A page on another origin (another port: same site, so the Lax cookie of plain http is sent) that frames the portal. */
async function startParent(): Promise<{ server: Server; origin: string; frame: (src: string) => void }> {
  let src = 'about:blank';
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><title>Platform panel</title><h1>Platform panel</h1><iframe title="Webhooks portal" src="${src}" width="1000" height="700"></iframe>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, frame: (s) => (src = s) };
}

describe('customer portal in a browser (sqlite)', () => {
  let h: TestHerald;
  let receiver: Receiver;
  let browser: Browser;
  let parent: Awaited<ReturnType<typeof startParent>>;
  let stranger: Awaited<ReturnType<typeof startParent>>;
  let org: { id: number };
  let key: Credentials;
  const token = newAdminToken();
  const contexts: BrowserContext[] = [];
  const browsers: Browser[] = [];

  beforeAll(async () => {
    receiver = await startReceiver();
    parent = await startParent();
    stranger = await startParent();
    h = await startHerald(
      'sqlite',
      { HERALD_ADMIN_TOKEN: token, HERALD_RETRY_SCHEDULE: '100ms', HERALD_PORTAL_FRAME_ANCESTORS: `'self' ${parent.origin}` },
      { port: await freePort() },
    );
    org = await createOrganization(h, token, { name: 'Acme Parcels' });
    key = await issueKey(h, token, org.id);
    browser = await launchBrowser();
  }, 180_000);
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    for (const b of browsers) await b.close().catch(() => {});
    await browser?.close();
    await h?.close();
    await receiver?.close();
    await new Promise((r) => parent?.server.close(r));
    await new Promise((r) => stranger?.server.close(r));
  });

  /**
   * One browser per person: the packaged Chromium runs --single-process, where contexts of one
   * browser share their cookies, so two sessions in one browser would be one.
   */
  async function newPage(): Promise<Page> {
    const own = contexts.length === 0 ? browser : await launchBrowser();
    if (own !== browser) browsers.push(own);
    const context = await own.newContext({ viewport: { width: 1100, height: 800 } });
    contexts.push(context);
    const page = await context.newPage();
    page.on('dialog', (d) => void d.accept());
    page.on('pageerror', (e) => console.log('pageerror', e.message));
    page.setDefaultTimeout(15_000);
    return page;
  }

  const api = (method: string, path: string, body?: unknown) => h.request(method, `${V3}${path}`, { auth: key, ...(body !== undefined ? { body } : {}) });

  let page: Page;
  let connectionId: number;

  it('signs in through a portal-session URL, themed from the session', async () => {
    page = await newPage();
    const s = await mintSession(h, token, org.id, { capabilities: ALL, theme: { accent_color: '#aa3377' } });
    await page.goto(s.url);
    await page.getByRole('heading', { name: 'Connections' }).waitFor();
    await expect(page.getByRole('banner')).toBeDefined();
    expect(await page.getByRole('banner').isVisible()).toBe(true);
    expect(await page.locator('#brand').textContent()).toBe('Acme Parcels');
    const accent = await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--accent').trim());
    expect(accent).toBe('#aa3377');
    // The cookie is HttpOnly: the page's script cannot read it.
    expect(await page.evaluate(() => document.cookie)).toBe('');
  });

  it('shows a validation error at its field, then creates a webhook connection with bearer auth', async () => {
    await page.getByRole('button', { name: 'Add connection' }).click();
    await page.getByLabel('URL').fill('not a url');
    await page.getByRole('button', { name: 'Save' }).click();
    const url = page.getByLabel('URL');
    await page.waitForFunction(() => document.querySelector('[data-pointer="/data/configuration/url"]')?.getAttribute('aria-invalid') === 'true');
    const describedBy = await url.getAttribute('aria-describedby');
    expect(await page.locator(`#${describedBy}`).textContent()).toBe('Enter a valid URL.');
    expect((await api('GET', '/connections')).body.data).toHaveLength(0);
    await shot(page, 'connection-form-error');

    await url.fill(`${receiver.url}/hooks`);
    await page.getByLabel('Auth type').selectOption('bearer');
    await page.getByLabel('Token').fill('tok-123');
    await page.getByLabel('Retry attempts').fill('1');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { name: /Webhook connection #\d+/ }).waitFor();
    const list = (await api('GET', '/connections')).body.data;
    expect(list).toHaveLength(1);
    expect(list[0].configuration).toMatchObject({ url: `${receiver.url}/hooks`, auth_type: 'bearer', retry_attempts: 1 });
    connectionId = list[0].id;
  });

  it('adds a subscription from the catalog and sends a test event, showing the receiver\'s status', async () => {
    await page.getByLabel('Event type').selectOption('parcels.event.created');
    await page.getByRole('button', { name: 'Add subscription' }).click();
    await page.getByRole('table', { name: 'Subscriptions' }).getByRole('cell', { name: /^parcels\.event\.created/ }).waitFor();
    const subs = (await api('GET', '/subscriptions')).body.data;
    expect(subs).toMatchObject([{ connection_id: connectionId, event_type: 'parcels.event.created', is_active: true }]);

    receiver.respond((_req, res) => {
      res.writeHead(202, { 'content-type': 'text/plain' });
      res.end('test accepted');
    });
    const before = receiver.received.length;
    await page.getByRole('button', { name: 'Send test event' }).click();
    const result = page.getByRole('status', { name: 'Test result' });
    await result.getByText('Status 202').waitFor();
    expect(await result.textContent()).toContain('test accepted');
    expect(receiver.received.length).toBe(before + 1);
    expect(receiver.received.at(-1)!.headers.authorization).toBe('Bearer tok-123');
    await shot(page, 'connection');
  });

  it('shows a failed delivery\'s attempts with the response body and retries it to success', async () => {
    receiver.respond((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('boom: database down');
    });
    expect((await api('POST', '/events', parcelEvent())).status).toBe(202);
    let delivery: any;
    for (let i = 0; i < 200 && delivery?.status !== 'failed'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      delivery = (await api('GET', '/deliveries')).body.data[0];
    }
    expect(delivery.status).toBe('failed');

    await page.getByRole('link', { name: 'Deliveries', exact: true }).click();
    await page.getByLabel('Status').selectOption('failed');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByRole('link', { name: `#${delivery.id}` }).click();
    await page.getByRole('heading', { name: `Delivery #${delivery.id}` }).waitFor();
    expect(await page.getByRole('article').count()).toBe(2);
    expect(await page.getByLabel('Response body of attempt 1').textContent()).toBe('boom: database down');
    const attempt = await page.getByRole('article', { name: 'Attempt 1' }).textContent();
    expect(attempt).toContain(`${receiver.url}/hooks`);
    expect(attempt).toContain('500');
    // Request headers are shown redacted.
    expect(attempt).not.toContain('tok-123');
    await shot(page, 'delivery');

    receiver.respond((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('fine now');
    });
    await page.getByRole('button', { name: 'Retry' }).click();
    await page.getByRole('article', { name: 'Attempt 3' }).waitFor({ timeout: 20_000 });
    expect(await page.getByLabel('Response body of attempt 3').textContent()).toBe('fine now');
    expect((await api('GET', `/deliveries/${delivery.id}`)).body.data.status).toBe('succeeded');
  });

  it('reveals and rotates the signing secret, explaining the overlap', async () => {
    await page.goto(`${h.baseUrl}/portal#/connections/${connectionId}`);
    await page.getByRole('button', { name: 'Reveal secret' }).click();
    const secretBox = page.getByLabel('Signing secret', { exact: true }).locator('code');
    const old = (await secretBox.textContent())!;
    expect(old).toBe((await api('GET', `/connections/${connectionId}/secret`)).body.data.secret);
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    await page.getByText(/Secret rotated\. The previous secret stays valid until/).waitFor();
    const fresh = (await secretBox.textContent())!;
    expect(fresh).not.toBe(old);
    expect(fresh).toBe((await api('GET', `/connections/${connectionId}/secret`)).body.data.secret);
    // The chart shows what the delivery counters say: 2 finished (the failure and the retried success).
    const chart = page.getByRole('img', { name: /Deliveries over the last 24 hours/ });
    expect(await chart.getAttribute('aria-label')).toBe('Deliveries over the last 24 hours: 1 succeeded, 1 failed');
    await shot(page, 'secret-rotated');
    await page.goto(`${h.baseUrl}/portal#/connections`);
    const row = page.getByRole('table', { name: 'Connections' }).getByRole('row').nth(1);
    await row.waitFor();
    expect(await row.textContent()).toContain('50%');
    await shot(page, 'connections');
    await page.goto(`${h.baseUrl}/portal#/catalog`);
    await page.getByRole('heading', { name: 'parcels.event.created' }).waitFor();
    await shot(page, 'catalog');
  });

  it('a session without manage_connections sees no "Add connection", and the API refuses it anyway', async () => {
    const viewer = await newPage();
    await viewer.goto((await mintSession(h, token, org.id)).url);
    await viewer.getByRole('heading', { name: 'Connections' }).waitFor();
    await viewer.getByRole('table', { name: 'Connections' }).waitFor();
    expect(await viewer.getByRole('button', { name: 'Add connection' }).count()).toBe(0);
    await viewer.goto(`${h.baseUrl}/portal#/connections/${connectionId}`);
    await viewer.getByRole('heading', { name: 'Subscriptions' }).waitFor();
    for (const name of ['Send test event', 'Rotate secret', 'Reveal secret', 'Delete connection', 'Disable']) {
      expect(await viewer.getByRole('button', { name }).count(), name).toBe(0);
    }
    // The page's own credentials, used directly: refused.
    const status = await viewer.evaluate(async (url) => {
      const s = await (await fetch('/portal/api/session')).json();
      const r = await fetch('/api/v3/event-subscriptions/connections', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': s.data.csrf_token },
        body: JSON.stringify({ type: 'webhook', configuration: { url } }),
      });
      return r.status;
    }, receiver.url);
    expect(status).toBe(403);
    expect((await api('GET', '/connections')).body.data).toHaveLength(1);
  });

  it('signs in with the key pair on the sign-in page', async () => {
    const person = await newPage();
    await person.goto(`${h.baseUrl}/portal`);
    await person.getByRole('heading', { name: 'Sign in' }).waitFor();
    await shot(person, 'sign-in');
    await person.getByLabel('Public key').fill(key.public_key);
    await person.getByLabel('Secret key').fill('wrong');
    await person.getByRole('button', { name: 'Sign in' }).click();
    await person.getByText('Invalid public key or secret key.').waitFor();
    await person.getByLabel('Secret key').fill(key.secret_key);
    await person.getByRole('button', { name: 'Sign in' }).click();
    await person.getByRole('button', { name: 'Add connection' }).waitFor();
    expect(await person.getByRole('table', { name: 'Connections' }).getByRole('link').count()).toBe(1);
  });

  it('loads in an iframe on another origin with ?embed=1 (no header); an origin not in frame-ancestors cannot frame it', async () => {
    const s = await mintSession(h, token, org.id, { capabilities: ALL });
    parent.frame(`${s.url}&embed=1`);
    const host = await newPage();
    await host.goto(parent.origin);
    const frame = host.frameLocator('iframe[title="Webhooks portal"]');
    await frame.getByRole('heading', { name: 'Connections' }).waitFor();
    expect(await frame.getByRole('banner').isVisible()).toBe(false);
    expect(await frame.getByRole('button', { name: 'Add connection' }).count()).toBe(1);
    await shot(host, 'embedded');

    const other = await mintSession(h, token, org.id);
    stranger.frame(`${other.url}&embed=1`);
    const blocked = await newPage();
    await blocked.goto(stranger.origin);
    await blocked.waitForTimeout(500);
    const child = blocked.frames().find((f) => f !== blocked.mainFrame());
    expect(child).toBeDefined();
    expect(await child!.locator('h1', { hasText: 'Connections' }).count()).toBe(0);
  });
});
