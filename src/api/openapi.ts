import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { PORTAL_COOKIE } from '../portal/auth.js';
import { VERSION } from '../version.js';

/** The OpenAPI 3.1 document is generated from the route schemas; /docs renders it. */
export async function registerOpenApi(app: FastifyInstance, publicUrl: string, admin: boolean): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Herald Event Subscriptions API',
        version: VERSION,
        description:
          'Connections say where events go, subscriptions say which events go there. Herald signs, delivers, ' +
          'retries and records every attempt. Compatible with the Sendcloud Event Subscriptions API (v3).',
      },
      servers: [{ url: publicUrl }],
      components: {
        securitySchemes: {
          HTTPBasicAuth: { type: 'http', scheme: 'basic', description: 'public_key:secret_key from `herald keys create`.' },
          OAuth2ClientCreds: {
            type: 'oauth2',
            flows: { clientCredentials: { tokenUrl: '/oauth2/token', scopes: { api: 'Access the API.' } } },
          },
          SendkitApiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key' },
          PortalCookie: {
            type: 'apiKey',
            in: 'cookie',
            name: PORTAL_COOKIE,
            description:
              'The customer portal\'s session (a portal-session link or the key pair, at /portal). ' +
              'Writes must also send the session\'s csrf_token in X-CSRF-Token; the session\'s capabilities decide the rest.',
          },
          ...(admin
            ? { AdminToken: { type: 'http' as const, scheme: 'bearer', description: 'HERALD_ADMIN_TOKEN (the admin API only).' } }
            : {}),
        },
      },
      ...(admin
        ? {
            tags: [
              {
                name: 'Admin',
                description:
                  "The operator's API under /admin/v1: organizations, their keys, publishing for them, totals. " +
                  'Enabled by HERALD_ADMIN_TOKEN; organization keys are not accepted here.',
              },
            ],
          }
        : {}),
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { url: '/api/v3/openapi.json' } });
  app.get('/api/v3/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
}
