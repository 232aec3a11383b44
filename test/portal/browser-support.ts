import { mkdirSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser } from '../support/browser.js';

const SHOTS = process.env.HERALD_PORTAL_SCREENSHOTS;

/** With HERALD_PORTAL_SCREENSHOTS=<dir> the main screens are saved there (the README's: docs/portal). */
export async function shot(page: Page, name: string) {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** A page on another origin (another port: same site, so the Lax cookie of plain http is sent) that frames the portal. */
export async function startParent(): Promise<{ server: Server; origin: string; frame: (src: string) => void; close: () => Promise<void> }> {
  let src = 'about:blank';
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><title>Platform panel</title><h1>Platform panel</h1><iframe title="Webhooks portal" src="${src}" width="1000" height="700"></iframe>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    frame: (s) => (src = s),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * One browser per person: the packaged Chromium runs --single-process, where contexts of one
 * browser share their cookies, so two sessions in one browser would be one.
 */
export class People {
  readonly #contexts: BrowserContext[] = [];
  readonly #browsers: Browser[] = [];

  async newPage(): Promise<Page> {
    const browser = await launchBrowser();
    this.#browsers.push(browser);
    // A person's locale: the container's default (en-US@posix) is no valid language tag.
    const context = await browser.newContext({ viewport: { width: 1200, height: 850 }, locale: 'en-US' });
    this.#contexts.push(context);
    const page = await context.newPage();
    page.on('dialog', (d) => void d.accept());
    page.on('pageerror', (e) => console.log('pageerror', e.message));
    page.setDefaultTimeout(15_000);
    return page;
  }

  async close(): Promise<void> {
    for (const c of this.#contexts) await c.close().catch(() => {});
    for (const b of this.#browsers) await b.close().catch(() => {});
  }
}

/** The error texts a control points to with aria-describedby (where Mantine puts a field's error). */
export async function describedText(page: Page, locator: ReturnType<Page['getByLabel']>): Promise<string> {
  const ids = ((await locator.getAttribute('aria-describedby')) ?? '').split(/\s+/).filter(Boolean);
  const texts = await Promise.all(ids.map((id) => page.locator(`[id="${id}"]`).textContent()));
  return texts.join(' ').trim();
}
