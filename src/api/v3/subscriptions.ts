import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { EventTypeCatalog } from '../../domain/event-types/catalog.js';
import { notFound } from '../../domain/errors.js';
import type { SubscriptionInput, SubscriptionService } from '../../domain/subscriptions.js';
import { Id, IdParams, Subscription, data, dataList, errorResponses, eventTypeSchema, security } from './schemas.js';

const PATH = '/event-subscriptions/subscriptions';
const tags = ['Subscriptions'];

export async function subscriptionRoutes(
  app: FastifyInstance,
  opts: { subscriptions: SubscriptionService; catalog: EventTypeCatalog },
) {
  const { subscriptions, catalog } = opts;
  const names = catalog.names();
  const resource = Subscription(names);
  const fields = {
    connection_id: Id,
    event_type: eventTypeSchema(names),
    is_active: Type.Boolean({ default: true }),
  };
  const CreateBody = Type.Object(
    { connection_id: fields.connection_id, event_type: fields.event_type, is_active: Type.Optional(fields.is_active) },
    { additionalProperties: false },
  );
  const UpdateBody = Type.Partial(Type.Object(fields), { additionalProperties: false });

  app.post<{ Body: Required<Pick<SubscriptionInput, 'connection_id' | 'event_type'>> & SubscriptionInput }>(
    PATH,
    {
      schema: {
        tags,
        summary: 'Create a subscription',
        operationId: 'sc-public-v3-scp-post-create_subscription',
        security,
        body: CreateBody,
        response: { 201: data(resource), ...errorResponses },
      },
    },
    async (request, reply) => {
      const row = await subscriptions.create(request.organizationId, request.body);
      return reply.code(201).send({ data: subscriptions.toResource(row) });
    },
  );

  app.get<{ Querystring: { event_type?: string; is_active?: boolean } }>(
    PATH,
    {
      schema: {
        tags,
        summary: 'List subscriptions',
        operationId: 'sc-public-v3-scp-get-list_subscriptions',
        security,
        querystring: Type.Object({ event_type: Type.Optional(Type.String()), is_active: Type.Optional(Type.Boolean()) }),
        response: { 200: dataList(resource), ...errorResponses },
      },
    },
    async (request) => {
      const { event_type: eventType, is_active: isActive } = request.query;
      const rows = await subscriptions.list(request.organizationId, {
        ...(eventType !== undefined ? { eventType } : {}),
        ...(isActive !== undefined ? { isActive } : {}),
      });
      return { data: rows.map((r) => subscriptions.toResource(r)) };
    },
  );

  app.get<{ Params: { event_type: string } }>(
    `${PATH}/event/:event_type`,
    {
      schema: {
        tags,
        summary: 'List subscriptions to one event type',
        security,
        params: Type.Object({ event_type: Type.String() }),
        response: { 200: dataList(resource), ...errorResponses },
      },
    },
    async (request) => {
      if (!catalog.get(request.params.event_type)) throw notFound();
      const rows = await subscriptions.list(request.organizationId, { eventType: request.params.event_type });
      return { data: rows.map((r) => subscriptions.toResource(r)) };
    },
  );

  app.get<{ Params: { id: string } }>(
    `${PATH}/:id`,
    {
      schema: {
        tags,
        summary: 'Get a subscription',
        operationId: 'sc-public-v3-scp-get-subscription',
        security,
        params: IdParams,
        response: { 200: data(resource), ...errorResponses },
      },
    },
    async (request) => ({
      data: subscriptions.toResource(await subscriptions.get(request.organizationId, Number(request.params.id))),
    }),
  );

  app.patch<{ Params: { id: string }; Body: SubscriptionInput }>(
    `${PATH}/:id`,
    {
      schema: {
        tags,
        summary: 'Update a subscription',
        operationId: 'sc-public-v3-scp-patch-subscription',
        security,
        params: IdParams,
        body: UpdateBody,
        response: { 200: data(resource), ...errorResponses },
      },
    },
    async (request) => {
      const row = await subscriptions.update(request.organizationId, Number(request.params.id), request.body);
      return { data: subscriptions.toResource(row) };
    },
  );

  app.delete<{ Params: { id: string } }>(
    `${PATH}/:id`,
    {
      schema: {
        tags,
        summary: 'Delete a subscription',
        operationId: 'sc-public-v3-scp-delete-subscription',
        security,
        params: IdParams,
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      await subscriptions.delete(request.organizationId, Number(request.params.id));
      return reply.code(204).send();
    },
  );
}
