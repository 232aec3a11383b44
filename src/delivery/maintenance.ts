import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Store } from '../store/store.js';

const EVERY_MS = 10 * 60_000;
/** The first run comes a minute after start, so a process restarted often still cleans up. */
const FIRST_AFTER_MS = 60_000;
/**
 * Rows per DELETE. Each batch is its own short transaction: a clean-up of a large backlog
 * never holds SQLite's write lock (or PostgreSQL's row locks) for long, and API requests
 * and the queue get their turn between batches.
 */
export const MAINTENANCE_BATCH = 1000;

export interface Purged {
  idempotencyKeys: number;
  accessTokens: number;
  oauthStates: number;
}

/** One clean-up pass: expired idempotency keys, access tokens and OAuth states, in bounded batches. */
export async function runMaintenance(
  store: Store,
  now: number,
  options: { batch?: number; signal?: AbortSignal } = {},
): Promise<Purged> {
  const batch = options.batch ?? MAINTENANCE_BATCH;
  const purge = async (deleteBatch: (tx: Store) => Promise<number>): Promise<number> => {
    let total = 0;
    while (!options.signal?.aborted) {
      const deleted = await store.transaction(deleteBatch);
      total += deleted;
      if (deleted < batch) break;
      await nextTurn();
    }
    return total;
  };
  return {
    idempotencyKeys: await purge((tx) => tx.idempotencyKeys.deleteExpired(now, batch)),
    accessTokens: await purge((tx) => tx.accessTokens.deleteExpired(now, batch)),
    oauthStates: await purge((tx) => tx.oauthStates.deleteExpired(now, batch)),
  };
}

/** Housekeeping in worker processes, every 10 minutes. Returns the function that stops it. */
export function startMaintenance(store: Store, logger: Logger): () => void {
  let running = false;
  // Stopping ends a pass between batches, before the database is closed under it.
  const stopped = new AbortController();
  const run = async () => {
    if (running) return;
    running = true;
    try {
      const purged = await runMaintenance(store, Date.now(), { signal: stopped.signal });
      if (purged.idempotencyKeys + purged.accessTokens + purged.oauthStates > 0) logger.info({ purged }, 'maintenance');
    } catch (error) {
      logger.warn({ err: error }, 'maintenance failed');
    } finally {
      running = false;
    }
  };
  const first = setTimeout(() => void run(), FIRST_AFTER_MS);
  const timer = setInterval(() => void run(), EVERY_MS);
  first.unref();
  timer.unref();
  return () => {
    stopped.abort();
    clearTimeout(first);
    clearInterval(timer);
  };
}
