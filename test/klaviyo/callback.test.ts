import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALLBACK_PATH } from '../../src/connectors/klaviyo/settings.js';
import { launchBrowser } from '../support/browser.js';
import { type FakeKlaviyo, startFakeKlaviyo } from '../support/fake-klaviyo.js';
import { type Credentials, DATABASES, type TestHerald } from '../support/herald.js';
import { CONNECTIONS, followAuthorization, klaviyoConnection, startAuthorization, startKlaviyoHerald } from './harness.js';

describe.each(DATABASES)('Klaviyo authorization callback on %s', (kind) => {
  let fake: FakeKlaviyo;
  let h: TestHerald;
  let org: Credentials;

  beforeAll(async () => {
    fake = await startFakeKlaviyo();
    h = await startKlaviyoHerald(kind, fake, {}, { workers: false });
    org = await h.createOrg();
  });
  afterAll(async () => {
    await h?.close();
    await fake?.close();
  });

  const read = async (id: number) => (await h.request('GET', `${CONNECTIONS}/${id}`, { auth: org })).body.data;
  const callback = async (query: string) => {
    const res = await fetch(`${h.baseUrl}${CALLBACK_PATH}?${query}`);
    return { status: res.status, type: res.headers.get('content-type'), html: await res.text() };
  };

  /** Runs a bad callback and checks its page, and that nothing else changed. */
  async function expectRefused(id: number, run: () => Promise<{ status: number; html: string }>, says: RegExp) {
    const before = await read(id);
    const exchanges = fake.stats.codeExchanges;
    const page = await run();
    expect(page.status).toBeGreaterThanOrEqual(400);
    expect(page.status).toBeLessThan(500);
    expect(page.html).toContain('Klaviyo authorization failed');
    expect(page.html).toMatch(says);
    expect(await read(id)).toEqual(before);
    return { exchanged: fake.stats.codeExchanges - exchanges };
  }

  it('answers an unknown state with a page, and changes nothing', async () => {
    const { connectionId } = await klaviyoConnection(h, org);
    const { exchanged } = await expectRefused(connectionId, () => callback('code=abc&state=not-a-state'), /not valid/);
    expect(exchanged).toBe(0);
    const missing = await callback('state=only');
    expect(missing.status).toBe(400);
    expect(missing.type).toMatch(/^text\/html/);
    expect(missing.html).toMatch(/missing its code or state/);
  });

  it('refuses a state used before, leaving the connected account as it is', async () => {
    const { connectionId } = await klaviyoConnection(h, org);
    const first = await followAuthorization(await startAuthorization(h, org, connectionId));
    expect(first.status).toBe(200);
    const { exchanged } = await expectRefused(connectionId, () => followAuthorization(first.url), /already used/);
    expect(exchanged).toBe(0);
    expect((await read(connectionId)).status).toBe('active');
  });

  it('refuses an expired state', async () => {
    const { connectionId } = await klaviyoConnection(h, org);
    const url = await startAuthorization(h, org, connectionId);
    // Ten minutes pass.
    await h.herald.store.db.updateTable('oauth_states').set({ expires_at: Date.now() - 1 }).execute();
    const { exchanged } = await expectRefused(connectionId, () => followAuthorization(url), /expired/);
    expect(exchanged).toBe(0);
  });

  it('says the user declined, in its own words, when Klaviyo answers access_denied', async () => {
    const { connectionId } = await klaviyoConnection(h, org);
    fake.consent = 'deny';
    try {
      const url = await startAuthorization(h, org, connectionId);
      const { exchanged } = await expectRefused(connectionId, () => followAuthorization(url), /You declined to give Herald access to your Klaviyo account\./);
      expect(exchanged).toBe(0);
    } finally {
      fake.consent = 'allow';
    }
  });

  it('never shows text from the query string: error_description and unknown codes get a fixed text', async () => {
    // Anyone can send a victim this link; what it says must not appear on Herald's page.
    const lure = 'Your account is locked. Call +1 555 0100 or visit evil.example to unlock it';
    const declined = await callback(`error=access_denied&error_description=${encodeURIComponent(lure)}`);
    expect(declined.status).toBe(400);
    expect(declined.html).toContain('You declined to give Herald access to your Klaviyo account.');
    expect(declined.html).not.toContain('evil.example');
    const markup = await callback(`error=access_denied&error_description=${encodeURIComponent('<script>alert(1)</script>')}`);
    expect(markup.html).not.toContain('script');
    for (const code of [encodeURIComponent(lure), 'invalid_scope', '__proto__', 'constructor', encodeURIComponent('<b>x</b>')]) {
      const page = await callback(`error=${code}`);
      expect(page.status, code).toBe(400);
      expect(page.html).toContain('Klaviyo did not grant access. Nothing was changed; start the authorization again to retry.');
      expect(page.html).not.toContain('evil.example');
      expect(page.html).not.toMatch(/proto|constructor|function|&lt;b&gt;/);
    }
    expect((await callback('error=temporarily_unavailable')).html).toContain('Klaviyo is temporarily unable to complete the authorization.');
  });

  it('shows a page when Klaviyo refuses the code exchange', async () => {
    const { connectionId } = await klaviyoConnection(h, org);
    const state = new URL(await startAuthorization(h, org, connectionId)).searchParams.get('state') as string;
    const { exchanged } = await expectRefused(
      connectionId,
      () => callback(`code=forged-code&state=${encodeURIComponent(state)}`),
      /did not accept the authorization \(Klaviyo token endpoint answered 400 \(invalid_grant/,
    );
    expect(exchanged).toBe(1);
  });

  it('renders the pages in a real browser', async () => {
    const { connectionId } = await klaviyoConnection(h, org);
    const url = await startAuthorization(h, org, connectionId);
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      const response = await page.goto(url);
      expect(response?.status()).toBe(200);
      expect(page.url().startsWith(`${h.baseUrl}${CALLBACK_PATH}?`)).toBe(true);
      expect(await page.locator('h1').textContent()).toBe('Your Klaviyo account is connected');
      expect(await page.locator('p').textContent()).toContain(`connection ${connectionId}`);
      expect((await read(connectionId)).status).toBe('active');

      const bad = await page.goto(`${h.baseUrl}${CALLBACK_PATH}?code=x&state=unknown`);
      expect(bad?.status()).toBe(400);
      expect(await page.locator('h1').textContent()).toBe('Klaviyo authorization failed');
      expect(await page.locator('p').textContent()).toContain('not valid');
    } finally {
      await browser.close();
    }
  });
});
