import type { Logger } from 'pino';
import type { Store } from '../store/store.js';

const EVERY_MS = 10 * 60_000;

/** Housekeeping in worker processes: expired idempotency keys, access tokens and OAuth states. */
export function startMaintenance(store: Store, logger: Logger): () => void {
  const run = async () => {
    const now = Date.now();
    try {
      await store.idempotencyKeys.deleteExpired(now);
      await store.accessTokens.deleteExpired(now);
      await store.oauthStates.deleteExpired(now);
    } catch (error) {
      logger.warn({ err: error }, 'maintenance failed');
    }
  };
  const timer = setInterval(() => void run(), EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
