import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { type CallbackResult, renderCallbackPage } from '../../connectors/klaviyo/callback-page.js';
import type { KlaviyoAuthorization } from '../../connectors/klaviyo/authorization.js';
import { ErrorsBody, IdParams, data, errorResponses, security } from './schemas.js';

const tags = ['OAuth2'];

/** OAuth2 for connections that link an account (Klaviyo): start, and the browser's return. */
export async function authorizationRoutes(app: FastifyInstance, opts: { authorization: KlaviyoAuthorization }) {
  const { authorization } = opts;

  app.post<{ Params: { id: string } }>(
    '/event-subscriptions/connections/:id/authorization',
    {
      schema: {
        tags,
        summary: 'Start OAuth2 authorization',
        description:
          'Returns the Klaviyo consent URL to open in the browser. It is valid for 10 minutes and once; ' +
          'Klaviyo then sends the browser back to the callback, which activates the connection.',
        operationId: 'sc-public-v3-scp-post-start_authorization',
        security,
        params: IdParams,
        response: {
          200: data(Type.Object({ authorization_url: Type.String({ format: 'uri' }) })),
          ...errorResponses,
          503: ErrorsBody,
        },
      },
    },
    async (request) => ({
      data: { authorization_url: await authorization.start(request.organizationId, Number(request.params.id)) },
    }),
  );

  // Public: the browser arrives from Klaviyo without API credentials; the state is the proof.
  app.get(
    '/event-subscriptions/connections/authorization/callback',
    {
      config: { public: true },
      schema: {
        tags,
        summary: 'OAuth2 callback (browser)',
        description:
          'Where Klaviyo redirects the browser with `code` and `state` (or `error`). Answers a small HTML page ' +
          'saying whether the account was connected.',
      },
    },
    async (request, reply) => {
      let result: CallbackResult;
      try {
        result = await authorization.callback(request.query as Record<string, unknown>);
      } catch (error) {
        request.log.error({ err: error }, 'OAuth callback failed');
        result = { status: 500, connected: false, message: 'Something went wrong on our side; start the authorization again.' };
      }
      return reply
        .code(result.status)
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .header('referrer-policy', 'no-referrer')
        .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
        .send(renderCallbackPage(result));
    },
  );
}
