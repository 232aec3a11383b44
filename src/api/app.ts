import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Herald } from '../herald.js';
import { keyPairOrToken, secretKey } from './auth.js';
import { registerAdmin } from './admin/index.js';
import { clientErrorHandler } from './client-errors.js';
import { registerErrorHandling, routerErrors } from './errors.js';
import { healthRoutes } from './health.js';
import { trackRoutes } from './method-not-allowed.js';
import { oauthTokenRoutes } from './oauth-token.js';
import { registerOpenApi } from './openapi.js';
import { registerRateLimit } from './rate-limit.js';
import { registerValidators } from './validators.js';
import { authorizationRoutes } from './v3/authorization.js';
import { broadcastRoutes } from './v3/broadcast.js';
import { connectionRoutes } from './v3/connections.js';
import { deliveryRoutes } from './v3/deliveries.js';
import { eventRoutes } from './v3/events.js';
import { subscriptionRoutes } from './v3/subscriptions.js';
import { activityRoutes } from './v3/activity.js';
import { PORTAL_COOKIE, portalSession, readCookie } from '../portal/auth.js';
import { portalRoutes } from '../portal/routes.js';
import { webhookRoutes } from './v1/webhooks.js';
import { WebhookService } from '../domain/sendkit/webhooks.js';

export const BODY_LIMIT = 1024 * 1024;

export async function buildApp(herald: Herald): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: herald.logger as FastifyBaseLogger,
    // One log line per delivery attempt matters; one per API request is noise at this rate.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    routerOptions: { ignoreTrailingSlash: true },
    clientErrorHandler,
    frameworkErrors: routerErrors,
  });
  app.decorateRequest('organizationId', 0);
  registerValidators(app);
  registerErrorHandling(app);
  // JSON only: a text/plain body is refused with 415 rather than read as a string.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/vnd.api+json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));
  const addMethodNotAllowed = trackRoutes(app);
  // Before any route: the limiter adds its hook to each route as the route is added.
  await registerRateLimit(app, herald);

  await registerOpenApi(app, herald.config.publicUrl, herald.config.adminToken !== undefined);
  await app.register(healthRoutes, { herald });
  await app.register(oauthTokenRoutes, { auth: herald.auth });
  await app.register(
    async (v3) => {
      v3.addHook('onRequest', keyPairOrToken(herald.auth, { name: PORTAL_COOKIE, read: readCookie, check: portalSession(herald.portal) }));
      await v3.register(connectionRoutes, { connections: herald.connections, health: herald.health });
      await v3.register(activityRoutes, { activity: herald.activity });
      await v3.register(subscriptionRoutes, { subscriptions: herald.subscriptions, catalog: herald.catalog });
      await v3.register(eventRoutes, { events: herald.events, catalog: herald.catalog });
      await v3.register(deliveryRoutes, { deliveries: herald.deliveries });
      await v3.register(broadcastRoutes, { broadcast: herald.broadcast });
      await v3.register(authorizationRoutes, { authorization: herald.klaviyoAuthorization });
    },
    { prefix: '/api/v3' },
  );
  await app.register(
    async (v1) => {
      v1.addHook('onRequest', secretKey(herald.auth));
      const webhooks = new WebhookService(herald.store, herald.connections, herald.subscriptions, herald.broadcast, Date.now, herald.health);
      await v1.register(webhookRoutes, { webhooks, eventNames: herald.catalog.names() });
    },
    { prefix: '/v1' },
  );
  await registerAdmin(app, herald);
  await app.register(portalRoutes, { herald });
  addMethodNotAllowed();
  return app;
}
