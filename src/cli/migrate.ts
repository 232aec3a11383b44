import type { Config } from '../config.js';
import { migrate, openDatabase } from '../store/database.js';

export async function runMigrations(config: Config): Promise<void> {
  const database = openDatabase(config.databaseUrl, config.databaseSchema);
  try {
    await migrate(database, config.databaseSchema);
    process.stdout.write('migrations: up to date\n');
  } finally {
    await database.db.destroy();
  }
}
