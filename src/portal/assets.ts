import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the build (scripts/build-portal.mjs, Vite) writes the page: <repo>/dist/portal-web.
 * From src/portal (tests) and from dist/portal (the built server) alike, two levels up is the
 * repository, so one relative path serves both.
 */
export const WEB_DIR = fileURLToPath(new URL('../../dist/portal-web/', import.meta.url));

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.woff2': 'font/woff2',
};

export interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

export interface PortalAssets {
  /** Vite's output under assets/: every name carries a hash of its content. */
  files: Map<string, Asset>;
  /** The page, or undefined when the portal has not been built. */
  index: string | undefined;
}

/** Read once at start: a handful of files, small enough to hold in memory. */
export function loadAssets(dir: string = WEB_DIR): PortalAssets {
  const files = new Map<string, Asset>();
  const indexPath = join(dir, 'index.html');
  if (!existsSync(indexPath)) return { files, index: undefined };
  const assetsDir = join(dir, 'assets');
  for (const name of existsSync(assetsDir) ? readdirSync(assetsDir).sort() : []) {
    const type = TYPES[extname(name)];
    if (!type) continue;
    const body = readFileSync(join(assetsDir, name));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    files.set(name, { body, type, etag });
  }
  return { files, index: readFileSync(indexPath, 'utf8') };
}
