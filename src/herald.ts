import type { Logger } from 'pino';
import type { Config } from './config.js';
import { HttpClient } from './connectors/http-client.js';
import type { KlaviyoAuthorization } from './connectors/klaviyo/authorization.js';
import { createKlaviyo } from './connectors/klaviyo/index.js';
import { type ConnectorRegistry, createConnectors } from './connectors/registry.js';
import { BroadcastService } from './delivery/broadcast.js';
import { Dispatcher } from './delivery/dispatcher.js';
import { startHealthMonitor } from './delivery/health-monitor.js';
import { startMaintenance } from './delivery/maintenance-schedule.js';
import { messageIdFactory } from './delivery/message-id.js';
import { ResultsWriter } from './delivery/results-writer.js';
import { Wakeup } from './delivery/wakeup.js';
import { ApiKeyService } from './domain/api-keys.js';
import { AuthService } from './domain/auth.js';
import { ConnectionHealthService } from './domain/connection-health.js';
import { ConnectionService } from './domain/connections.js';
import { DeliveryService } from './domain/deliveries.js';
import { EventTypeCatalog } from './domain/event-types/catalog.js';
import { EventService } from './domain/events.js';
import { OrganizationService } from './domain/organizations.js';
import type { OperatorTarget } from './domain/operational-events.js';
import { ensureOperatorWebhook } from './domain/operator.js';
import { SubscriptionService } from './domain/subscriptions.js';
import { ConnectionActivityService } from './domain/connection-activity.js';
import { PortalSessionService } from './domain/portal-sessions.js';
import { createLogger } from './observability/logger.js';
import { Metrics } from './observability/metrics.js';
import { type Keyring, openKeyring, watchInstallation } from './security/installation.js';
import type { Sealer } from './security/sealer.js';
import { type OpenedDatabase, migrate, openDatabase } from './store/database.js';
import { Store } from './store/store.js';

/** Everything one Herald process holds, wired once. */
export interface Herald {
  config: Config;
  logger: Logger;
  database: OpenedDatabase;
  store: Store;
  sealer: Sealer;
  /** The installation's keys and ids (security/installation.ts). */
  keyring: Keyring;
  catalog: EventTypeCatalog;
  http: HttpClient;
  connectors: ConnectorRegistry;
  metrics: Metrics;
  wakeup: Wakeup;
  auth: AuthService;
  /** The operator's side (admin API, CLI). */
  organizations: OrganizationService;
  apiKeys: ApiKeyService;
  connections: ConnectionService;
  /** Circuit breaker, auto-disable, operational events (delivery/health-monitor.ts runs it in workers). */
  health: ConnectionHealthService;
  subscriptions: SubscriptionService;
  events: EventService;
  deliveries: DeliveryService;
  broadcast: BroadcastService;
  klaviyoAuthorization: KlaviyoAuthorization;
  /** Customer-portal sessions (src/portal). */
  portal: PortalSessionService;
  /** Deliveries finished per connection per hour (the portal's chart and list). */
  activity: ConnectionActivityService;
  dispatcher: Dispatcher | undefined;
  /** Stops the workers gracefully (in-flight requests get HERALD_SHUTDOWN_GRACE_MS), then closes everything. */
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
  const keyring = await openKeyring(database, config);
  const sealer = keyring.sealer;
  const stopKeyWatch = watchInstallation(database.db, sealer, logger);
  const catalog = new EventTypeCatalog(config.eventTypesFile);
  if (database.pool) {
    database.pool.on('error', (error) => logger.warn({ err: error }, 'a pooled PostgreSQL connection was lost; it will be replaced'));
  }
  const http = new HttpClient({
    allowPrivateNetworks: config.allowPrivateNetworks,
    connectionsPerOrigin: config.connectionsPerOrigin,
    responseBodyBytes: config.responseBodyBytes,
    // The client's error names the host only; the operator's log keeps what it resolved to.
    onBlocked: (r) => logger.warn({ host: r.host, address: r.address, range: r.range }, 'refused a request to a non-public address'),
  });
  const klaviyo = createKlaviyo({ config, http, store, sealer, logger });
  const connectors = createConnectors(http, klaviyo.connector, { maxTimeoutMs: config.maxTimeoutMs, ...config.limits });
  const metrics = new Metrics(store.deliveries, { refreshMs: config.metricsRefreshMs, logger, health: store.health });
  const wakeup = new Wakeup(logger);
  store.routing.on((change) => wakeup.routing(change));
  const connections = new ConnectionService(
    store,
    sealer,
    connectors,
    Date.now,
    config.maxTimeoutMs,
    config.limits.connectionsPerOrganization,
  );
  const events = new EventService(store, catalog, (accepted) => {
    for (const e of accepted) metrics.eventsAccepted.inc({ event_type: e.event_type });
    if (accepted.some((e) => e.deliveries > 0)) wakeup.wake();
  }, config.limits);

  const subscriptions = new SubscriptionService(store, catalog, Date.now, () => wakeup.wake(), config.limits.subscriptionsPerOrganization);
  let operator: OperatorTarget | undefined;
  const health = new ConnectionHealthService(store, config.health, logger, () => operator);

  let dispatcher: Dispatcher | undefined;
  let stopMaintenance: (() => Promise<void>) | undefined;
  let stopHealth: (() => Promise<void>) | undefined;
  if (options.workers ?? true) {
    if (config.operatorWebhook) {
      operator = await ensureOperatorWebhook(store, connections, subscriptions, config.operatorWebhook, Date.now());
    }
    const results = new ResultsWriter(store, config.retryScheduleMs, logger, metrics);
    dispatcher = new Dispatcher({
      store,
      connections,
      results,
      wakeup,
      limits: config,
      logger,
      messageId: messageIdFactory(keyring.webhookIdSalt),
      abortInFlight: () => http.destroy(),
    });
    if (database.pgConfig) await wakeup.listen(database.pgConfig);
    dispatcher.start();
    stopMaintenance = startMaintenance(store, logger, {
      retentionMs: config.retentionMs,
      metrics,
      ...(database.file ? { sqliteFile: database.file } : {}),
    });
    stopHealth = startHealthMonitor(health, {
      everyMs: Math.min(1000, Math.max(50, Math.floor(config.health.probeIntervalMs / 4))),
      logger,
      onDue: () => wakeup.wake(),
    });
  }

  const auth = new AuthService(store, config.tokenTtlSeconds);
  return {
    config,
    logger,
    database,
    store,
    sealer,
    keyring,
    catalog,
    http,
    connectors,
    metrics,
    wakeup,
    auth,
    organizations: new OrganizationService(
      store,
      () => wakeup.wake(),
      async (row) => connectors.get(row.type).onDelete?.(row),
    ),
    apiKeys: new ApiKeyService(store),
    connections,
    health,
    subscriptions,
    events,
    deliveries: new DeliveryService(store, () => wakeup.wake()),
    broadcast: new BroadcastService(store, connections, catalog),
    klaviyoAuthorization: klaviyo.authorization,
    portal: new PortalSessionService(store, auth, config.publicUrl),
    activity: new ConnectionActivityService(store),
    dispatcher,
    async close() {
      stopKeyWatch();
      await stopMaintenance?.();
      await stopHealth?.();
      await metrics.close();
      await dispatcher?.stop(config.shutdownGraceMs);
      await wakeup.close();
      await http.destroy();
      await database.queue?.close();
      await database.db.destroy();
    },
  };
}
