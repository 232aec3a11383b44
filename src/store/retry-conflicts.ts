import { isRetryableConflict } from './errors.js';

export interface RetryOptions {
  /** Runs in all, the first included. */
  attempts: number;
  /** The n-th retry waits a random time up to baseDelayMs × 2^(n-1) ("full jitter"). */
  baseDelayMs: number;
}

const DEFAULTS: RetryOptions = { attempts: 5, baseDelayMs: 5 };

/**
 * Runs a whole transaction again when PostgreSQL aborted it for losing a race — a
 * serialization failure (40001) or a deadlock (40P01) — which a fresh attempt normally wins.
 * The random wait keeps two processes that collided from colliding again in lockstep.
 * `fn` must start its transaction itself: the aborted one cannot be continued.
 */
export async function retryConflicts<T>(fn: () => Promise<T>, options: Partial<RetryOptions> = {}): Promise<T> {
  const { attempts, baseDelayMs } = { ...DEFAULTS, ...options };
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= attempts || !isRetryableConflict(error)) throw error;
      const ceiling = baseDelayMs * 2 ** (attempt - 1);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
    }
  }
}
