import type { Logger } from 'pino';
import type { Config } from './config.js';
import { HttpClient } from './connectors/http-client.js';
import type { KlaviyoAuthorization } from './connectors/klaviyo/authorization.js';
import { createKlaviyo } from './connectors/klaviyo/index.js';
import { type ConnectorRegistry, createConnectors } from './connectors/registry.js';
import { BroadcastService } from './delivery/broadcast.js';
import { Dispatcher } from './delivery/dispatcher.js';
import { startMaintenance } from './delivery/maintenance.js';
import { messageIdFactory } from './delivery/message-id.js';
import { ResultsWriter } from './delivery/results-writer.js';
import { Wakeup } from './delivery/wakeup.js';
import { AuthService } from './domain/auth.js';
import { ConnectionService } from './domain/connections.js';
import { DeliveryService } from './domain/deliveries.js';
import { EventTypeCatalog } from './domain/event-types/catalog.js';
import { EventService } from './domain/events.js';
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
  wakeup: Wakeup;
  auth: AuthService;
  connections: ConnectionService;
  subscriptions: SubscriptionService;
  events: EventService;
  deliveries: DeliveryService;
  broadcast: BroadcastService;
  klaviyoAuthorization: KlaviyoAuthorization;
  dispatcher: Dispatcher | undefined;
  /** Stops the workers gracefully (in-flight requests get up to 10 s), then closes everything. */
  close(): Promise<void>;
}

export interface HeraldOptions {
  /** Run delivery workers in this process (serve --role worker|all). */
  workers?: boolean;
}

export async function createHerald(
  config: Config,
  logger: Logger = createLogger(config.logLevel),
  options: HeraldOptions = {},
): Promise<Herald> {
  const database = openDatabase(config.databaseUrl, config.databaseSchema);
  await migrate(database, config.databaseSchema);
  const store = Store.of(database);
  const secretKey = loadSecretKey(config.secretKey, config.dataDir);
  const sealer = new Sealer(secretKey);
  const catalog = new EventTypeCatalog(config.eventTypesFile);
  const http = new HttpClient({ allowPrivateNetworks: config.allowPrivateNetworks });
  const klaviyo = createKlaviyo({ config, http, store, sealer, logger });
  const connectors = createConnectors(http, klaviyo.connector);
  const metrics = new Metrics(store.deliveries);
  const wakeup = new Wakeup(logger);
  const connections = new ConnectionService(store, sealer, connectors);
  const events = new EventService(store, catalog, (accepted) => {
    for (const e of accepted) metrics.eventsAccepted.inc({ event_type: e.event_type });
    if (accepted.some((e) => e.deliveries > 0)) wakeup.wake();
  });

  let dispatcher: Dispatcher | undefined;
  let stopMaintenance: (() => void) | undefined;
  if (options.workers ?? true) {
    const results = new ResultsWriter(store, config.retryScheduleMs, logger, metrics);
    dispatcher = new Dispatcher({
      store,
      connections,
      results,
      wakeup,
      limits: config,
      logger,
      messageId: messageIdFactory(secretKey),
    });
    if (database.pgConfig) await wakeup.listen(database.pgConfig);
    dispatcher.start();
    stopMaintenance = startMaintenance(store, logger);
  }

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
    wakeup,
    auth: new AuthService(store, config.tokenTtlSeconds),
    connections,
    subscriptions: new SubscriptionService(store, catalog),
    events,
    deliveries: new DeliveryService(store, () => wakeup.wake()),
    broadcast: new BroadcastService(store, connections, catalog),
    klaviyoAuthorization: klaviyo.authorization,
    dispatcher,
    async close() {
      stopMaintenance?.();
      await dispatcher?.stop(10_000);
      await wakeup.close();
      await http.destroy();
      await database.queue?.close();
      await database.db.destroy();
    },
  };
}
