import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { BroadcastService } from '../../delivery/broadcast.js';
import { data, errorResponses, security } from './schemas.js';

export async function broadcastRoutes(app: FastifyInstance, opts: { broadcast: BroadcastService }) {
  app.post<{ Params: { subscription_id: string } }>(
    '/event-subscriptions/broadcast/test/:subscription_id',
    {
      schema: {
        tags: ['Broadcast'],
        summary: 'Broadcast test event',
        description:
          "Sends the event type's sample payload through the subscription's connection once, with the same " +
          'auth, headers and signature. Answers 200 whatever the endpoint did.',
        operationId: 'sc-public-v3-scp-post-test_broadcast',
        security,
        params: Type.Object({ subscription_id: Type.String({ pattern: '^[1-9][0-9]{0,15}$' }) }),
        response: {
          200: data(
            Type.Object({ success: Type.Boolean(), status_code: Type.Integer(), response_body: Type.String() }),
          ),
          ...errorResponses,
        },
      },
    },
    async (request) => ({
      data: await opts.broadcast.test(request.organizationId, Number(request.params.subscription_id)),
    }),
  );
}
