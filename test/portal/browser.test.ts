/**
 * The customer portal (React, portal/) in a real browser (Chromium through playwright-core,
 * test/support/browser.ts) against a real Herald, a real receiver and a real SQLite file: the
 * issue's "Done when" list. Controls are found by role and accessible name, as a screen reader
 * finds them; everything the page does is checked again through the API. With
 * HERALD_PORTAL_SCREENSHOTS=<dir> the main screens are saved there (the README's: docs/portal).
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrganization, issueKey, newAdminToken } from '../admin/helpers.js';
import { parcelEvent } from '../support/events.js';
import { type Credentials, type TestHerald, startHerald } from '../support/herald.js';
import { freePort } from '../support/ports.js';
import { type Receiver, startReceiver } from '../support/receiver.js';
import { People, describedText, shot, startParent } from './browser-support.js';
import { V3, mintSession } from './helpers.js';

const ALL = ['manage_connections', 'view_secrets', 'manage_secrets', 'retry'];

describe('customer portal in a browser (sqlite)', () => {
  let h: TestHerald;
  let receiver: Receiver;
  let parent: Awaited<ReturnType<typeof startParent>>;
  let stranger: Awaited<ReturnType<typeof startParent>>;
  let org: { id: number };
  let key: Credentials;
  const token = newAdminToken();
  const people = new People();

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
  }, 180_000);
  afterAll(async () => {
    await people.close();
    await h?.close();
    await receiver?.close();
    await parent?.close();
    await stranger?.close();
  });

  const api = (method: string, path: string, body?: unknown) => h.request(method, `${V3}${path}`, { auth: key, ...(body !== undefined ? { body } : {}) });

  let page: Page;
  let connectionId: number;
  let subscriptionId: number;

  it('signs in through a portal-session URL, themed from the session', async () => {
    page = await people.newPage();
    const s = await mintSession(h, token, org.id, { capabilities: ALL, theme: { accent_color: '#aa3377' } });
    await page.goto(s.url);
    await page.getByRole('heading', { name: 'Connections' }).waitFor();
    expect(await page.getByRole('banner').isVisible()).toBe(true);
    expect(await page.getByRole('banner').getByText('Acme Parcels').count()).toBe(1);
    // The session's accent colours the page's primary buttons.
    const background = await page.getByRole('button', { name: 'Add connection' }).evaluate((el) => getComputedStyle(el).backgroundColor);
    expect(background).toBe('rgb(170, 51, 119)');
    // The cookie is HttpOnly: the page's script cannot read it.
    expect(await page.evaluate(() => document.cookie)).toBe('');
  });

  it('shows a validation error at its field, then creates a webhook connection with bearer auth', async () => {
    await page.getByRole('button', { name: 'Add connection' }).click();
    const url = page.getByLabel('URL', { exact: true });
    await url.fill('not a url');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => url.getAttribute('aria-invalid')).toBe('true');
    expect(await describedText(page, url)).toBe('Enter a valid URL.');
    expect((await api('GET', '/connections')).body.data).toHaveLength(0);
    await shot(page, 'connection-form-error');

    await url.fill(`${receiver.url}/hooks`);
    await page.getByLabel('Auth type', { exact: true }).selectOption('bearer');
    await page.getByLabel('Token', { exact: true }).fill('tok-123');
    await page.getByLabel('Retry attempts', { exact: true }).fill('1');
    await page.getByRole('button', { name: 'Add header' }).click();
    await page.getByLabel('Extra header 1 name').fill('X-Tenant');
    await page.getByLabel('Extra header 1 value').fill('acme');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { name: /Webhook connection #\d+/ }).waitFor();
    const list = (await api('GET', '/connections')).body.data;
    expect(list).toHaveLength(1);
    expect(list[0].configuration).toMatchObject({ url: `${receiver.url}/hooks`, auth_type: 'bearer', retry_attempts: 1 });
    expect(Object.keys(list[0].configuration.extra_headers)).toEqual(['X-Tenant']);
    connectionId = list[0].id;
  });

  it('adds a subscription from the catalog, pauses and resumes it, and sends a test event showing the receiver\'s status', async () => {
    await page.getByLabel('Event type', { exact: true }).selectOption('parcels.event.created');
    await page.getByRole('button', { name: 'Add subscription' }).click();
    const table = page.getByRole('table', { name: 'Subscriptions' });
    await table.getByRole('cell', { name: /^parcels\.event\.created/ }).waitFor();
    const subs = (await api('GET', '/subscriptions')).body.data;
    expect(subs).toMatchObject([{ connection_id: connectionId, event_type: 'parcels.event.created', is_active: true }]);
    subscriptionId = subs[0].id;

    await table.getByRole('button', { name: 'Pause' }).click();
    await table.getByRole('button', { name: 'Resume' }).waitFor();
    expect((await api('GET', `/subscriptions/${subscriptionId}`)).body.data.is_active).toBe(false);
    await table.getByRole('button', { name: 'Resume' }).click();
    await table.getByRole('button', { name: 'Pause' }).waitFor();
    expect((await api('GET', `/subscriptions/${subscriptionId}`)).body.data.is_active).toBe(true);

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
    expect(receiver.received.at(-1)!.headers['x-tenant']).toBe('acme');
    await shot(page, 'connection');
  });

  it('lists deliveries filtered by status, event type and time range; shows a failed one\'s attempts and retries it to success', async () => {
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

    await page.getByRole('navigation', { name: 'Portal' }).getByRole('link', { name: 'Deliveries' }).click();
    await page.getByRole('heading', { name: 'Deliveries' }).waitFor();
    const filters = page.getByRole('form', { name: 'Filter deliveries' });
    const rows = page.getByRole('table', { name: 'Deliveries' }).getByRole('row');
    await filters.getByLabel('Status').selectOption('failed');
    await filters.getByLabel('Event type').selectOption('parcels.event.created');
    // Created before an hour ago: nothing (the server filters; the page only passes the range on).
    const hourAgo = await page.evaluate(() => {
      const d = new Date(Date.now() - 3600_000);
      return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
    });
    await filters.getByLabel('Created before').fill(hourAgo);
    await filters.getByRole('button', { name: 'Filter' }).click();
    await page.getByText('No deliveries match.').waitFor();
    expect(page.url()).toContain('created_before=');
    await filters.getByLabel('Created before').fill('');
    await filters.getByLabel('Created from').fill(hourAgo);
    await filters.getByRole('button', { name: 'Filter' }).click();
    await page.getByRole('link', { name: `#${delivery.id}` }).waitFor();
    expect(await rows.count()).toBe(2);
    await shot(page, 'deliveries');

    await page.getByRole('link', { name: `#${delivery.id}` }).click();
    await page.getByRole('heading', { name: `Delivery #${delivery.id}` }).waitFor();
    expect(await page.getByRole('article').count()).toBe(2);
    expect(await page.getByLabel('Response body of attempt 1').textContent()).toBe('boom: database down');
    const attempt = await page.getByRole('article', { name: 'Attempt 1' }).textContent();
    expect(attempt).toContain(`${receiver.url}/hooks`);
    expect(attempt).toContain('500');
    // Request headers are shown, redacted.
    const headers = await page.getByLabel('Request headers of attempt 1').textContent();
    expect(headers).toMatch(/authorization:/i);
    expect(headers).not.toContain('tok-123');
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

  it('reveals and rotates the signing secret, explaining the overlap; charts the activity over 24 h and 7 d', async () => {
    await page.goto(`${h.baseUrl}/portal#/connections/${connectionId}`);
    await page.getByRole('button', { name: 'Reveal secret' }).click();
    const secretBox = page.getByLabel('Secret value');
    const old = (await secretBox.textContent())!;
    expect(old).toBe((await api('GET', `/connections/${connectionId}/secret`)).body.data.secret);
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    await page.getByText(/Secret rotated\. The previous secret stays valid until/).waitFor();
    await expect.poll(() => secretBox.textContent()).not.toBe(old);
    expect(await secretBox.textContent()).toBe((await api('GET', `/connections/${connectionId}/secret`)).body.data.secret);
    // The chart says what the delivery counters say: 2 finished (the failure and the retried success).
    const chart = page.getByRole('img', { name: 'Deliveries over the last 24 hours: 1 succeeded, 1 failed' });
    // Drawn, not just labelled.
    await chart.locator('canvas').first().waitFor();
    await shot(page, 'secret-rotated');
    await page.getByText('Last 7 days').click();
    await page.getByRole('img', { name: 'Deliveries over the last 7 days: 1 succeeded, 1 failed' }).waitFor();

    await page.goto(`${h.baseUrl}/portal#/connections`);
    const row = page.getByRole('table', { name: 'Connections' }).getByRole('row').nth(1);
    await row.waitFor();
    expect(await row.textContent()).toContain('50%');
    expect(await row.textContent()).toContain('webhook');
    await shot(page, 'connections');
    await page.getByRole('navigation', { name: 'Portal' }).getByRole('link', { name: 'Event catalog' }).click();
    const entry = page.getByRole('region', { name: 'parcels.event.created' });
    await entry.getByRole('heading', { name: 'parcels.event.created' }).waitFor();
    expect(await entry.getByRole('listitem').count()).toBeGreaterThan(2);
    expect(await entry.textContent()).toContain('Sample payload');
    await shot(page, 'catalog');
  });

  it('edits the connection, keeping the credentials it was not given again; recovers failed deliveries since a time', async () => {
    await page.goto(`${h.baseUrl}/portal#/connections/${connectionId}`);
    await page.getByRole('button', { name: 'Edit', exact: true }).click();
    await page.getByRole('heading', { name: `Edit connection #${connectionId}` }).waitFor();
    expect(await page.getByLabel('URL', { exact: true }).inputValue()).toBe(`${receiver.url}/hooks`);
    await page.getByLabel('Timeout (ms)', { exact: true }).fill('5000');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { name: `Webhook connection #${connectionId}` }).waitFor();
    expect((await api('GET', `/connections/${connectionId}`)).body.data.configuration).toMatchObject({ timeout_ms: 5000, auth_type: 'bearer' });

    receiver.respond((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('down again');
    });
    expect((await api('POST', '/events', parcelEvent({ parcelId: 777 }))).status).toBe(202);
    let failed: any;
    for (let i = 0; i < 200 && failed?.status !== 'failed'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      failed = (await api('GET', '/deliveries')).body.data[0];
    }
    expect(failed.status).toBe('failed');
    receiver.respond((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
    const before = receiver.received.length;
    await page.getByRole('button', { name: 'Recover failed since…' }).click();
    await page.getByText('1 failed deliveries queued again.').waitFor();
    await expect.poll(async () => (await api('GET', `/deliveries/${failed.id}`)).body.data.status, { timeout: 20_000 }).toBe('succeeded');
    // The bearer token was kept: the recovered delivery still carries it.
    expect(receiver.received.slice(before).at(-1)!.headers.authorization).toBe('Bearer tok-123');
  });

  it('disables, enables and deletes a connection (with a confirmation)', async () => {
    const other = (await api('POST', '/connections', { type: 'webhook', configuration: { url: `${receiver.url}/other` } })).body.data;
    await page.goto(`${h.baseUrl}/portal#/connections/${other.id}`);
    await page.getByRole('button', { name: 'Disable' }).click();
    await page.getByRole('button', { name: 'Enable' }).waitFor();
    expect((await api('GET', `/connections/${other.id}`)).body.data.status).toBe('disabled');
    await page.getByRole('button', { name: 'Enable' }).click();
    await page.getByRole('button', { name: 'Disable' }).waitFor();
    expect((await api('GET', `/connections/${other.id}`)).body.data.status).toBe('active');
    await page.getByRole('button', { name: 'Delete connection' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete this connection?' });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect((await api('GET', `/connections/${other.id}`)).status).toBe(200);
    await page.getByRole('button', { name: 'Delete connection' }).click();
    await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
    await page.getByRole('heading', { name: 'Connections' }).waitFor();
    expect((await api('GET', `/connections/${other.id}`)).status).toBe(404);
  });

  it('a session without manage_connections sees no "Add connection", and the API refuses it anyway', async () => {
    const viewer = await people.newPage();
    await viewer.goto((await mintSession(h, token, org.id)).url);
    await viewer.getByRole('heading', { name: 'Connections' }).waitFor();
    await viewer.getByRole('table', { name: 'Connections' }).waitFor();
    expect(await viewer.getByRole('button', { name: 'Add connection' }).count()).toBe(0);
    await viewer.goto(`${h.baseUrl}/portal#/connections/${connectionId}`);
    await viewer.getByRole('heading', { name: 'Subscriptions' }).waitFor();
    await viewer.getByRole('table', { name: 'Subscriptions' }).waitFor();
    for (const name of ['Send test event', 'Rotate secret', 'Reveal secret', 'Delete connection', 'Disable', 'Edit', 'Pause', 'Recover failed since…']) {
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
    const person = await people.newPage();
    await person.goto(`${h.baseUrl}/portal`);
    await person.getByRole('heading', { name: 'Sign in' }).waitFor();
    await shot(person, 'sign-in');
    await person.getByLabel('Public key', { exact: true }).fill(key.public_key);
    await person.getByLabel('Secret key', { exact: true }).fill('wrong');
    await person.getByRole('button', { name: 'Sign in' }).click();
    await person.getByText('Invalid public key or secret key.').waitFor();
    await person.getByLabel('Secret key', { exact: true }).fill(key.secret_key);
    await person.getByRole('button', { name: 'Sign in' }).click();
    await person.getByRole('button', { name: 'Add connection' }).waitFor();
    await person.getByRole('table', { name: 'Connections' }).waitFor();
    expect(await person.getByRole('table', { name: 'Connections' }).getByRole('link').count()).toBe(1);
    await person.getByRole('button', { name: 'Sign out' }).click();
    await person.getByRole('heading', { name: 'Sign in' }).waitFor();
  });

  it('loads in an iframe on another origin with ?embed=1 (no header); an origin not in frame-ancestors cannot frame it', async () => {
    const s = await mintSession(h, token, org.id, { capabilities: ALL, theme: { dark: true } });
    parent.frame(`${s.url}&embed=1`);
    const host = await people.newPage();
    await host.goto(parent.origin);
    const frame = host.frameLocator('iframe[title="Webhooks portal"]');
    await frame.getByRole('heading', { name: 'Connections' }).waitFor();
    expect(await frame.getByRole('banner').count()).toBe(0);
    expect(await frame.getByRole('navigation', { name: 'Portal' }).isVisible()).toBe(true);
    expect(await frame.getByRole('button', { name: 'Add connection' }).count()).toBe(1);
    // The session's theme asked for dark.
    const background = await frame.locator('body').evaluate((el) => getComputedStyle(el).backgroundColor);
    expect(background).not.toBe('rgb(255, 255, 255)');
    expect(await frame.locator('html').getAttribute('data-mantine-color-scheme')).toBe('dark');
    await shot(host, 'embedded');

    const other = await mintSession(h, token, org.id);
    stranger.frame(`${other.url}&embed=1`);
    const blocked = await people.newPage();
    await blocked.goto(stranger.origin);
    await blocked.waitForTimeout(500);
    const child = blocked.frames().find((f) => f !== blocked.mainFrame());
    expect(child).toBeDefined();
    expect(await child!.getByRole('heading', { name: 'Connections' }).count()).toBe(0);
  });
});
