import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The URL of a worker thread's script, `script` relative to the source root (e.g.
 * `store/sqlite/queue-thread.js`). Run from source (the tests run TypeScript in-process), the
 * compiled script of the same tree stands in: `npm test` builds before it runs.
 */
export function threadScript(script: string): URL {
  if (!import.meta.url.endsWith('.ts')) return new URL(`../${script}`, import.meta.url);
  const built = new URL(`../../dist/${script}`, import.meta.url);
  if (!existsSync(fileURLToPath(built))) throw new Error(`${fileURLToPath(built)} is missing: run npm run build`);
  return built;
}
