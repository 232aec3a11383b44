import type { Config } from '../config.js';
import { AuthService } from '../domain/auth.js';
import { migrate, openDatabase } from '../store/database.js';
import { Store } from '../store/store.js';
import type { IssuedKey } from '../domain/auth.js';

export async function createKey(config: Config, organization: string): Promise<IssuedKey> {
  const database = openDatabase(config.databaseUrl, config.databaseSchema);
  try {
    await migrate(database, config.databaseSchema);
    const auth = new AuthService(Store.of(database), config.tokenTtlSeconds);
    return await auth.createKey(organization);
  } finally {
    await database.db.destroy();
  }
}
