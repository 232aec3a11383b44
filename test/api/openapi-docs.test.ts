/**
 * The generated OpenAPI 3.1 document covers the reference contract, and /docs renders it in
 * a real browser (test/support/browser.ts).
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../support/browser.js';
import { DATABASES, type TestHerald, startHerald } from '../support/herald.js';
import { API, HTTP_METHODS, type Json, loadSpec } from './helpers.js';

const spec = loadSpec();

/** A path with its parameter names erased, so `{id}` and `{subscription_id}` compare alike. */
const shape = (path: string) => path.replace(/\{[^}]+\}/g, '{}');

const methodsOf = (item: Json): string[] => HTTP_METHODS.filter((m) => item?.[m] !== undefined).sort();

/** Every path of the contract and its methods, as Herald serves them (under /api/v3). */
const contract: Array<[string, string[]]> = Object.entries<Json>(spec.paths).map(([path, item]) => [
  `${API}${path}`,
  methodsOf(item),
]);

describe.each(DATABASES)('OpenAPI document and docs page on %s', (kind) => {
  let h: TestHerald;
  beforeAll(async () => {
    h = await startHerald(kind);
  });
  afterAll(() => h.close());

  it('the contract has the six paths checked below', () => {
    expect(contract.map(([path, methods]) => `${path} ${methods.join(',')}`)).toEqual([
      '/api/v3/event-subscriptions/connections get,post',
      '/api/v3/event-subscriptions/connections/{id} delete,get,patch',
      '/api/v3/event-subscriptions/connections/{id}/authorization post',
      '/api/v3/event-subscriptions/subscriptions get,post',
      '/api/v3/event-subscriptions/subscriptions/{id} delete,get,patch',
      '/api/v3/event-subscriptions/broadcast/test/{subscription_id} post',
    ]);
  });

  it('/api/v3/openapi.json is public, OpenAPI 3.1.0, and has every path of the contract with its methods', async () => {
    const res = await h.request('GET', '/api/v3/openapi.json');
    expect(res.status, res.text).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    const doc = res.body;
    expect(doc.openapi).toBe('3.1.0');
    expect(typeof doc.info?.title).toBe('string');
    const served = new Map<string, Json>(Object.entries<Json>(doc.paths ?? {}).map(([p, item]) => [shape(p), item]));
    for (const [path, methods] of contract) {
      const item = served.get(shape(path));
      expect(item, `${path} in openapi.json`).toBeDefined();
      for (const method of methods) expect(item?.[method], `${method.toUpperCase()} ${path}`).toBeDefined();
    }
    // The operations keep the contract's operation ids.
    for (const [path, item] of Object.entries<Json>(spec.paths)) {
      for (const method of methodsOf(item)) {
        const op = served.get(shape(`${API}${path}`))?.[method];
        expect(op?.operationId, `${method} ${path}`).toBe(item[method].operationId);
      }
    }
    // Both of the contract's security schemes are declared.
    expect(Object.keys(doc.components?.securitySchemes ?? {})).toEqual(
      expect.arrayContaining(Object.keys(spec.components.securitySchemes)),
    );
  });

  describe('in a browser', () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await launchBrowser();
    }, 3 * 60_000);
    afterAll(() => browser?.close());

    it('/docs shows the Swagger UI with the operations of the contract', async () => {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      try {
        const res = await page.goto(`${h.baseUrl}/docs`, { waitUntil: 'load' });
        expect(res?.status()).toBeLessThan(400);
        await page.getByText('Create a connection', { exact: true }).first().waitFor({ timeout: 30_000 });
        const text = await page.locator('body').innerText();
        for (const item of Object.values<Json>(spec.paths)) {
          for (const method of methodsOf(item)) {
            const { summary } = item[method];
            expect(text, summary).toContain(summary);
          }
        }
        expect(text).toContain('/api/v3/event-subscriptions/connections/{id}');
        expect(errors).toEqual([]);
      } finally {
        await page.close();
      }
    });
  });
});
