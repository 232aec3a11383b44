import { buildApp } from '../api/app.js';
import type { Config } from '../config.js';
import { createHerald } from '../herald.js';

export type Role = 'api' | 'worker' | 'all';

/** Runs until SIGTERM/SIGINT, then stops claiming, lets in-flight work finish and exits 0. */
export async function serve(config: Config, role: Role): Promise<void> {
  const herald = await createHerald(config);
  const app = role === 'worker' ? undefined : await buildApp(herald);
  if (app) {
    const address = await app.listen({ host: config.host, port: config.port });
    herald.logger.info({ address, role, database: herald.database.dialect }, 'herald listening');
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    herald.logger.info({ signal }, 'herald stopping');
    await app?.close();
    await herald.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
