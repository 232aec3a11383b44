import type { Logger } from 'pino';
import type { Config } from './config.js';
import { HttpClient } from './connectors/http-client.js';
import { type ConnectorRegistry, createConnectors } from './connectors/registry.js';
import { AuthService } from './domain/auth.js';
import { ConnectionService } from './domain/connections.js';
import { EventTypeCatalog } from './domain/event-types/catalog.js';
import { SubscriptionService } from './domain/subscriptions.js';
import { createLogger } from './observability/logger.js';
import { Metrics } from './observability/metrics.js';
import { Sealer, loadSecretKey } from './security/sealer.js';
import { type OpenedDatabase, migrate, openDatabase } from './store/database.js';
import { Store } from './store/store.js';

/** Everything one Herald process holds, wired once. */
export interface Herald {
  config: Config;
  logger: Logger;
  database: OpenedDatabase;
  store: Store;
  sealer: Sealer;
  catalog: EventTypeCatalog;
  http: HttpClient;
  connectors: ConnectorRegistry;
  metrics: Metrics;
  auth: AuthService;
  connections: ConnectionService;
  subscriptions: SubscriptionService;
  close(): Promise<void>;
}

export interface HeraldOptions {
  /** Run delivery workers in this process (serve --role worker|all). */
  workers?: boolean;
}

export async function createHerald(
  config: Config,
  logger: Logger = createLogger(config.logLevel),
  _options: HeraldOptions = {},
): Promise<Herald> {
  const database = openDatabase(config.databaseUrl, config.databaseSchema);
  await migrate(database, config.databaseSchema);
  const store = new Store(database.db, database.dialect);
  const sealer = new Sealer(loadSecretKey(config.secretKey, config.dataDir));
  const catalog = new EventTypeCatalog(config.eventTypesFile);
  const http = new HttpClient({ allowPrivateNetworks: config.allowPrivateNetworks });
  const connectors = createConnectors(http);
  const metrics = new Metrics(store.deliveries);
  const connections = new ConnectionService(store, sealer, connectors);
  return {
    config,
    logger,
    database,
    store,
    sealer,
    catalog,
    http,
    connectors,
    metrics,
    auth: new AuthService(store, config.tokenTtlSeconds),
    connections,
    subscriptions: new SubscriptionService(store, catalog),
    async close() {
      await http.close();
      await database.db.destroy();
    },
  };
}
