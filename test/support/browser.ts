/**
 * A headless Chromium for the browser tests, driven by playwright-core (which downloads no
 * browser): Debian's /usr/bin/chromium when it is installed, otherwise the Chromium that the
 * npm package @sparticuz/chromium ships inside itself (a devDependency), so `npm ci && npm
 * test` needs nothing else on the machine.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { ROOT } from './process.js';

const DEBIAN_CHROMIUM = '/usr/bin/chromium';
const QUIET = ['--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export async function launchBrowser(): Promise<Browser> {
  if (existsSync(DEBIAN_CHROMIUM)) {
    return chromium.launch({ executablePath: DEBIAN_CHROMIUM, args: ['--no-sandbox', '--disable-gpu', ...QUIET] });
  }
  const { default: packaged } = await import('@sparticuz/chromium');
  return chromium.launch({ executablePath: packagedChromium(), args: [...packaged.args, '--no-sandbox', ...QUIET], headless: true });
}

/**
 * The package's Chromium, unpacked once into node_modules/.cache. The package unpacks into
 * the temporary folder (the binary, its fonts and SwiftShader libraries side by side), and a
 * half-written binary there would look finished to the next caller; so it unpacks in a
 * child process whose TMPDIR is a private staging folder, which is then renamed into place
 * in one step. Test files that race here each unpack, and the first rename wins.
 */
function packagedChromium(): string {
  const pkg = join(ROOT, 'node_modules', '@sparticuz', 'chromium', 'package.json');
  const { version } = JSON.parse(readFileSync(pkg, 'utf8')) as { version: string };
  const cache = join(ROOT, 'node_modules', '.cache');
  const dir = join(cache, `sparticuz-chromium-${version}`);
  const binary = join(dir, 'chromium');
  if (existsSync(binary)) return binary;
  mkdirSync(cache, { recursive: true });
  const staging = mkdtempSync(`${dir}.partial-`);
  try {
    execFileSync(
      process.execPath,
      ['--input-type=module', '-e', "import chromium from '@sparticuz/chromium'; await chromium.executablePath();"],
      { cwd: ROOT, env: { ...process.env, TMPDIR: staging }, stdio: 'pipe', timeout: 120_000 },
    );
    if (!existsSync(join(staging, 'chromium'))) throw new Error(`@sparticuz/chromium did not unpack into ${staging}`);
    renameSync(staging, dir);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(binary)) throw error; // not a lost race: a real failure
  }
  return binary;
}
