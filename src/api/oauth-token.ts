import formbody from '@fastify/formbody';
import type { FastifyInstance } from 'fastify';
import type { AuthService } from '../domain/auth.js';
import { parseBasic } from './auth.js';
import { jsonApiErrors } from './errors.js';

/**
 * OAuth2 client-credentials grant (RFC 6749 §4.4), the client authenticated by HTTP Basic
 * with the key pair. Errors carry both the RFC's `error` and the API's JSON:API `errors`,
 * so OAuth client libraries and API clients each find what they read.
 */
export async function oauthTokenRoutes(app: FastifyInstance, opts: { auth: AuthService }) {
  await app.register(formbody);
  app.post(
    '/oauth2/token',
    {
      config: { public: true },
      schema: {
        tags: ['OAuth2'],
        summary: 'Issue an access token (client-credentials grant)',
        consumes: ['application/x-www-form-urlencoded'],
        security: [{ HTTPBasicAuth: [] }],
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      const form = (request.body ?? {}) as Record<string, string>;
      const basic = parseBasic(request.headers.authorization);
      const clientId = basic?.user ?? form.client_id;
      const clientSecret = basic?.password ?? form.client_secret;
      const key = clientId && clientSecret ? await opts.auth.keyPair(clientId, clientSecret) : undefined;
      if (!key) {
        reply.header('www-authenticate', 'Basic realm="herald"');
        return reply.code(401).send({
          error: 'invalid_client',
          error_description: 'Client authentication failed.',
          ...jsonApiErrors(401, [{ code: 'authentication_failed', detail: 'Invalid client credentials.' }]),
        });
      }
      if (form.grant_type !== 'client_credentials') {
        return reply.code(400).send({
          error: 'unsupported_grant_type',
          error_description: 'Only grant_type=client_credentials is supported.',
          ...jsonApiErrors(400, [
            { code: 'invalid_choice', detail: `"${form.grant_type ?? ''}" is not a valid choice.`, pointer: '/grant_type' },
          ]),
        });
      }
      return opts.auth.issueToken(key.apiKeyId, key.organizationId);
    },
  );
}
