/**
 * "Connect Klaviyo" in the portal, in a real browser, against the fake Klaviyo of the
 * connector's tests (test/support/fake-klaviyo.ts: a real OAuth2 authorize and token server
 * on 127.0.0.1 whose authorize endpoint consents, or declines, at once). The consent runs in
 * a window of its own; the portal watches the connection turn active.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrganization, issueKey, newAdminToken } from '../admin/helpers.js';
import { type FakeKlaviyo, startFakeKlaviyo } from '../support/fake-klaviyo.js';
import type { Credentials, TestHerald } from '../support/herald.js';
import { startKlaviyoHerald } from '../klaviyo/harness.js';
import { People, shot } from './browser-support.js';
import { V3, mintSession } from './helpers.js';

describe('portal: Connect Klaviyo (sqlite, fake Klaviyo)', () => {
  let h: TestHerald;
  let fake: FakeKlaviyo;
  let org: { id: number };
  let key: Credentials;
  const token = newAdminToken();
  const people = new People();

  beforeAll(async () => {
    fake = await startFakeKlaviyo();
    h = await startKlaviyoHerald('sqlite', fake, { HERALD_ADMIN_TOKEN: token });
    org = await createOrganization(h, token, { name: 'Acme Mail' });
    key = await issueKey(h, token, org.id);
  }, 180_000);
  afterAll(async () => {
    await people.close();
    await h?.close();
    await fake?.close();
  });

  const api = (method: string, path: string) => h.request(method, `${V3}${path}`, { auth: key });

  it('a declined consent leaves the connection waiting; "Connect Klaviyo" again runs the flow to an active connection', async () => {
    const page = await people.newPage();
    await page.goto((await mintSession(h, token, org.id, { capabilities: ['manage_connections'] })).url);
    await page.getByRole('button', { name: 'Add connection' }).click();
    await page.getByLabel('Type', { exact: true }).selectOption('klaviyo');
    // A Klaviyo connection has nothing to fill in: its credentials come from the consent.
    expect(await page.getByLabel('URL', { exact: true }).count()).toBe(0);

    fake.consent = 'deny';
    const declined = page.waitForEvent('popup');
    await page.getByRole('button', { name: 'Connect Klaviyo' }).click();
    const first = await declined;
    await first.getByText('Klaviyo authorization failed').waitFor();
    await first.close();
    await page.getByRole('heading', { name: /Klaviyo connection #\d+/ }).waitFor();
    const [created] = (await api('GET', '/connections')).body.data;
    expect(created).toMatchObject({ type: 'klaviyo' });
    expect(created.status).not.toBe('active');
    expect(fake.stats.codeExchanges).toBe(0);

    fake.consent = 'allow';
    const allowed = page.waitForEvent('popup');
    await page.getByRole('button', { name: 'Connect Klaviyo' }).click();
    const second = await allowed;
    await second.getByText('Your Klaviyo account is connected').waitFor();
    // The portal sees the connection turn active by itself, and the button goes away.
    await page.getByText('active', { exact: true }).waitFor({ timeout: 20_000 });
    expect(await page.getByRole('button', { name: 'Connect Klaviyo' }).count()).toBe(0);
    expect((await api('GET', `/connections/${created.id}`)).body.data.status).toBe('active');
    expect(fake.stats.codeExchanges).toBe(1);
    await shot(page, 'klaviyo-connected');
  });
});
