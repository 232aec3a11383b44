import type { Logger } from 'pino';
import type { ConnectionHealthService } from '../domain/connection-health.js';

const ERROR_LOG_EVERY_MS = 30_000;

/**
 * Runs the endpoint-health transitions (domain/connection-health.ts) in a worker process:
 * a pass every `everyMs`, never two at once. Each transition is a compare-and-set, so any
 * number of workers may run one. Returns the function that stops it (after the pass under way).
 */
export function startHealthMonitor(
  health: ConnectionHealthService,
  options: { everyMs: number; logger: Logger; onDue: () => void },
): () => Promise<void> {
  let stopped = false;
  let lastErrorLogAt = 0;
  let current: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const pass = async () => {
    try {
      if (await health.tick()) options.onDue();
    } catch (error) {
      const now = Date.now();
      if (now - lastErrorLogAt >= ERROR_LOG_EVERY_MS) {
        lastErrorLogAt = now;
        options.logger.warn({ err: error }, 'endpoint health pass failed; trying again');
      }
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      current = pass().finally(schedule);
    }, options.everyMs);
    timer.unref();
  };
  schedule();
  return async () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    await current;
  };
}
