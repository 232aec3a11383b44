import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { DeliveryService } from '../../domain/deliveries.js';
import { PageQuery, decodeCursor, page, parseTime } from '../pagination.js';
import { Attempt, ErrorsBody, Delivery, DeliveryStatusSchema, Id, IdParams, PageMeta, data, errorResponses, security } from './schemas.js';

const tags = ['Deliveries'];

export async function deliveryRoutes(app: FastifyInstance, opts: { deliveries: DeliveryService }) {
  const { deliveries } = opts;

  app.get<{
    Querystring: {
      subscription_id?: number;
      connection_id?: number;
      event_id?: number;
      event_type?: string;
      status?: 'pending' | 'parked' | 'succeeded' | 'failed';
      created_after?: string;
      created_before?: string;
      limit: number;
      cursor?: string;
    };
  }>(
    '/event-subscriptions/deliveries',
    {
      schema: {
        tags,
        summary: 'List deliveries, newest first',
        security,
        querystring: Type.Object({
          subscription_id: Type.Optional(Id),
          connection_id: Type.Optional(Id),
          event_id: Type.Optional(Id),
          event_type: Type.Optional(Type.String({ maxLength: 200, description: "The subscription's event type." })),
          status: Type.Optional(DeliveryStatusSchema),
          created_after: Type.Optional(Type.String({ description: 'ISO 8601; inclusive.' })),
          created_before: Type.Optional(Type.String({ description: 'ISO 8601; exclusive.' })),
          ...PageQuery,
        }),
        response: { 200: Type.Object({ data: Type.Array(Delivery), meta: PageMeta }), ...errorResponses },
      },
    },
    async (request) => {
      const q = request.query;
      const createdAfter = parseTime(q.created_after, 'created_after');
      const createdBefore = parseTime(q.created_before, 'created_before');
      const rows = await deliveries.page(
        request.organizationId,
        {
          ...(q.subscription_id !== undefined ? { subscriptionId: q.subscription_id } : {}),
          ...(q.connection_id !== undefined ? { connectionId: q.connection_id } : {}),
          ...(q.event_id !== undefined ? { eventId: q.event_id } : {}),
          ...(q.status !== undefined ? { status: q.status } : {}),
          ...(q.event_type !== undefined ? { eventType: q.event_type } : {}),
          ...(createdAfter !== undefined ? { createdAfter } : {}),
          ...(createdBefore !== undefined ? { createdBefore } : {}),
        },
        decodeCursor(q.cursor),
        q.limit + 1,
      );
      return page(rows, q.limit, (r) => deliveries.toResource(r));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/event-subscriptions/deliveries/:id',
    {
      schema: {
        tags,
        summary: 'Get a delivery with every attempt',
        security,
        params: IdParams,
        response: { 200: data(Type.Intersect([Delivery, Type.Object({ attempts: Type.Array(Attempt) })])), ...errorResponses },
      },
    },
    async (request) => {
      const { delivery, attempts } = await deliveries.get(request.organizationId, Number(request.params.id));
      return { data: { ...deliveries.toResource(delivery), attempts: attempts.map((a) => deliveries.attemptResource(a)) } };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/event-subscriptions/deliveries/:id/retry',
    {
      schema: { tags, summary: 'Attempt a delivery again now', security, params: IdParams, response: { 202: data(Delivery), ...errorResponses, 409: ErrorsBody } },
    },
    async (request, reply) => {
      const row = await deliveries.retry(request.organizationId, Number(request.params.id));
      return reply.code(202).send({ data: deliveries.toResource(row) });
    },
  );

  app.post<{ Params: { id: string }; Body: { since: string } }>(
    '/event-subscriptions/subscriptions/:id/recover',
    {
      schema: {
        tags,
        summary: "Re-queue every failed delivery of a subscription since a time",
        security,
        params: IdParams,
        body: Type.Object({ since: Type.String({ format: 'date-time' }) }, { additionalProperties: false }),
        response: { 202: data(Type.Object({ requeued: Type.Integer({ minimum: 0 }) })), ...errorResponses },
      },
    },
    async (request, reply) => {
      const since = parseTime(request.body.since, 'since') as number;
      const requeued = await deliveries.recover(request.organizationId, Number(request.params.id), since);
      return reply.code(202).send({ data: { requeued } });
    },
  );

  app.get<{
    Querystring: { delivery_id?: number; subscription_id?: number; connection_id?: number; is_test?: boolean; limit: number; cursor?: string };
  }>(
    '/event-subscriptions/attempts',
    {
      schema: {
        tags,
        summary: 'The attempt log (deliveries and broadcast tests), newest first',
        security,
        querystring: Type.Object({
          delivery_id: Type.Optional(Id),
          subscription_id: Type.Optional(Id),
          connection_id: Type.Optional(Id),
          is_test: Type.Optional(Type.Boolean()),
          ...PageQuery,
        }),
        response: errorResponses,
      },
    },
    async (request) => {
      const q = request.query;
      const rows = await deliveries.attempts(
        request.organizationId,
        {
          ...(q.delivery_id !== undefined ? { deliveryId: q.delivery_id } : {}),
          ...(q.subscription_id !== undefined ? { subscriptionId: q.subscription_id } : {}),
          ...(q.connection_id !== undefined ? { connectionId: q.connection_id } : {}),
          ...(q.is_test !== undefined ? { isTest: q.is_test } : {}),
        },
        decodeCursor(q.cursor),
        q.limit + 1,
      );
      return page(rows, q.limit, (r) => deliveries.attemptResource(r));
    },
  );
}
