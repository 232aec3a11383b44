import type { Config } from '../config.js';
import { EventTypeCatalog } from '../domain/event-types/catalog.js';
import { EventService } from '../domain/events.js';
import { OrganizationService } from '../domain/organizations.js';
import { type OpenedDatabase, migrate, openDatabase } from '../store/database.js';
import { Store } from '../store/store.js';

/** What the operator's commands work with: the database directly, no server needed. */
export interface CliContext {
  config: Config;
  database: OpenedDatabase;
  store: Store;
  organizations: OrganizationService;
  catalog: EventTypeCatalog;
  events: EventService;
}

/**
 * Opens (and migrates) the database of `config`, runs `fn`, and closes it. Running servers
 * see what a command wrote at once: credentials are read per request, and new deliveries are
 * announced (PostgreSQL NOTIFY; SQLite workers find them at their next poll).
 */
export async function withDatabase<T>(config: Config, fn: (context: CliContext) => Promise<T>): Promise<T> {
  const database = openDatabase(config.databaseUrl, config.databaseSchema);
  try {
    await migrate(database, config.databaseSchema);
    const store = Store.of(database);
    const catalog = new EventTypeCatalog(config.eventTypesFile);
    return await fn({
      config,
      database,
      store,
      organizations: new OrganizationService(store),
      catalog,
      events: new EventService(store, catalog, () => undefined, config.limits),
    });
  } finally {
    await database.queue?.close();
    await database.db.destroy();
  }
}
