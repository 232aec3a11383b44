// Starting Herald for a scenario: a fresh SQLite file (or PostgreSQL schema), a key, processes.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { POSTGRES_URL, createKey, freePort, heraldEnv, spawnHerald } from './procs.mjs';
import { now, sleep } from './common.mjs';

/**
 * `{ db: 'sqlite' | 'postgres', roles: ['all'] | ['api', 'worker', …], env, nodeArgs }`.
 * Each role in `roles` is one process; `nodeArgs` (e.g. --cpu-prof) go to every one of
 * them. Returns `{ api, workers, key, env, dataDir }`; `api` answers HTTP.
 */
export async function startHerald(scope, { db = 'sqlite', roles = ['all'], env: extra = {}, nodeArgs = [], startWorkers = true }) {
  const dataDir = scope.tempDir();
  const port = await freePort();
  const env = heraldEnv({
    HERALD_DATA_DIR: dataDir,
    HERALD_PORT: String(port),
    HERALD_SECRET_KEY: randomBytes(32).toString('base64'),
    // The load generators are one organization sending thousands of requests a second: no
    // request budgets, so the figures stay comparable with runs from before they existed.
    HERALD_RATE_LIMIT_API: '0',
    HERALD_RATE_LIMIT_EVENTS: '0',
    ...(db === 'postgres'
      ? { HERALD_DATABASE_URL: POSTGRES_URL, HERALD_DATABASE_SCHEMA: scope.pgSchema() }
      : { HERALD_DATABASE_URL: `sqlite:${join(dataDir, 'herald.db')}` }),
    ...extra,
  });
  const key = await createKey(env);
  const [first, ...rest] = roles;
  if (first === 'worker') throw new Error('the first Herald process must answer HTTP (api or all)');
  const api = await spawnHerald(scope, { role: first, env, logDir: dataDir, label: first, nodeArgs });
  const result = { api, workers: [], key, env, dataDir };
  result.startWorkers = async () => {
    for (let i = 0; i < rest.length; i++) {
      result.workers.push(await spawnHerald(scope, { role: rest[i], env, logDir: dataDir, label: `${rest[i]}-${i + 1}`, nodeArgs }));
    }
    return result.workers;
  };
  if (startWorkers) await result.startWorkers();
  return result;
}

/**
 * Waits until the receiver has `target` distinct deliveries. Past `budgetMs` it stops
 * waiting and returns what arrived so far with `partial: true` (rates are then computed
 * over what arrived). Fails when nothing arrives for `stallMs`, or a watched process exits.
 */
export async function waitForDeliveries(rx, target, { stallMs = 30_000, budgetMs = 15 * 60_000, watch = [], allowNone = false } = {}) {
  let settled = false;
  const done = rx.call('expect', { target }).finally(() => {
    settled = true;
  });
  done.catch(() => undefined);
  const started = Date.now();
  let lastCount = -1;
  let lastChange = Date.now();
  while (!settled) {
    await Promise.race([done.catch(() => undefined), sleep(250)]);
    if (settled) break;
    for (const proc of watch) {
      if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
        throw new Error(`${proc.child.spawnfile} (pid ${proc.pid}) exited during the run:\n${proc.tail?.() ?? ''}`);
      }
    }
    const stats = await rx.call('stats');
    if (stats.distinct !== lastCount) {
      lastCount = stats.distinct;
      lastChange = Date.now();
    }
    if (Date.now() - started > budgetMs) {
      if (stats.distinct === 0 && !allowNone) throw new Error(`no delivery arrived within the ${budgetMs / 1000} s budget`);
      // `end`: when the run is taken to have ended — the last arrival, or now for a partial one.
      return { ...stats, partial: true, target, end: now() };
    }
    if (Date.now() - lastChange > stallMs) {
      const logs = watch.map((p) => p.tail?.()).filter(Boolean).join('\n');
      throw new Error(
        `stalled: ${stats.distinct} of ${target} deliveries arrived, none in the last ${stallMs / 1000} s ` +
          `(${stats.duplicates} duplicates, ${stats.hung} at hanging endpoints)${logs ? `\n${logs}` : ''}`,
      );
    }
  }
  const result = await done;
  return { ...result, partial: false, target, end: result.last };
}

/** " (partial: 12,345 of 200,000 within the 60 s budget)" or "". */
export function partialNote(done, budgetMs) {
  if (!done.partial) return '';
  return ` (partial: ${done.distinct.toLocaleString('en-US')} of ${done.target.toLocaleString('en-US')} within the ${Math.round(budgetMs / 1000)} s budget)`;
}
