import { buildApp } from '../api/app.js';
import type { Config } from '../config.js';
import { createHerald } from '../herald.js';
import { createLogger } from '../observability/logger.js';

export type Role = 'api' | 'worker' | 'all';

/**
 * Runs until SIGTERM/SIGINT; then stops accepting and claiming, lets in-flight requests
 * finish (up to 10 s), commits their results and exits 0.
 */
export async function serve(config: Config, role: Role): Promise<void> {
  const logger = createLogger(config.logLevel);
  const herald = await createHerald(config, logger, { workers: role !== 'api' });
  const app = role === 'worker' ? undefined : await buildApp(herald);
  if (app) {
    const address = await app.listen({ host: config.host, port: config.port });
    logger.info({ address, role, database: herald.database.dialect }, 'herald listening');
  } else {
    logger.info({ role, database: herald.database.dialect }, 'herald worker started');
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'herald stopping');
    try {
      await app?.close();
      await herald.close();
    } catch (error) {
      logger.error({ err: error }, 'error while stopping');
    }
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
