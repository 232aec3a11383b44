import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { EventTypeCatalog } from '../../domain/event-types/catalog.js';
import { type EventInput, type EventService, MAX_BATCH, profileSchema } from '../../domain/events.js';
import { PageQuery, decodeCursor, page, parseTime } from '../pagination.js';
import { ErrorsBody, IdParams, Timestamp, data, errorResponses, eventTypeSchema, security } from './schemas.js';

const PATH = '/event-subscriptions/events';
const tags = ['Events'];

const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 255,
      description:
        'Repeat-safe: the same key with the same body within 24 h returns the first answer and creates nothing; ' +
        'the same key with a different body (or on the other endpoint) answers 409.',
    }),
  ),
});

/** What publishing can answer besides 202: a request over a limit (400) and a reused key (409). */
const ingestErrors = { ...errorResponses, 409: ErrorsBody };

const Accepted = Type.Object({
  id: Type.Integer(),
  event_type: Type.String(),
  created_at: Timestamp,
  deliveries: Type.Integer({ description: 'Deliveries created (one per active matching subscription).' }),
});

export async function eventRoutes(app: FastifyInstance, opts: { events: EventService; catalog: EventTypeCatalog }) {
  const { events, catalog } = opts;
  const EventBody = Type.Object(
    {
      event_type: eventTypeSchema(catalog.names()),
      data: Type.Object({}, { additionalProperties: true, description: "Validated against the event type's schema." }),
      profile: Type.Optional(Type.Unsafe<Record<string, string>>(profileSchema)),
    },
    { additionalProperties: false },
  );

  const idempotencyKey = (headers: { 'idempotency-key'?: string }) => headers['idempotency-key'];

  app.post<{ Body: EventInput; Headers: { 'idempotency-key'?: string } }>(
    PATH,
    {
      schema: {
        tags,
        summary: 'Publish an event',
        description:
          'Committed with one delivery per active matching subscription before the 202. ' +
          'A request that would create more deliveries than HERALD_MAX_DELIVERIES_PER_REQUEST is refused whole (400).',
        security,
        headers: IdempotencyHeaders,
        body: EventBody,
        response: { 202: data(Accepted), ...ingestErrors },
      },
    },
    async (request, reply) => {
      const answer = await events.ingestOne(request.organizationId, request.body, idempotencyKey(request.headers));
      return reply.code(202).send({ data: answer.accepted[0] });
    },
  );

  app.post<{ Body: { events: EventInput[] }; Headers: { 'idempotency-key'?: string } }>(
    `${PATH}/batch`,
    {
      schema: {
        tags,
        summary: `Publish up to ${MAX_BATCH} events in one transaction`,
        description:
          'All or nothing. A batch whose events would create more deliveries (events × active matching ' +
          'subscriptions) than HERALD_MAX_DELIVERIES_PER_REQUEST is refused whole (400), naming the count.',
        security,
        headers: IdempotencyHeaders,
        body: Type.Object(
          { events: Type.Array(EventBody, { minItems: 1, maxItems: MAX_BATCH }) },
          { additionalProperties: false },
        ),
        response: { 202: Type.Object({ data: Type.Array(Accepted) }), ...ingestErrors },
      },
    },
    async (request, reply) => {
      const answer = await events.ingest(request.organizationId, request.body.events, idempotencyKey(request.headers));
      return reply.code(202).send({ data: answer.accepted });
    },
  );

  app.get<{
    Querystring: { event_type?: string; created_after?: string; created_before?: string; limit: number; cursor?: string };
  }>(
    PATH,
    {
      schema: {
        tags,
        summary: 'List events, newest first',
        security,
        querystring: Type.Object({
          event_type: Type.Optional(Type.String()),
          created_after: Type.Optional(Type.String({ description: 'ISO 8601; inclusive.' })),
          created_before: Type.Optional(Type.String({ description: 'ISO 8601; exclusive.' })),
          ...PageQuery,
        }),
        response: errorResponses,
      },
    },
    async (request) => {
      const q = request.query;
      const createdAfter = parseTime(q.created_after, 'created_after');
      const createdBefore = parseTime(q.created_before, 'created_before');
      const rows = await events.page(
        request.organizationId,
        {
          ...(q.event_type !== undefined ? { eventType: q.event_type } : {}),
          ...(createdAfter !== undefined ? { createdAfter } : {}),
          ...(createdBefore !== undefined ? { createdBefore } : {}),
        },
        decodeCursor(q.cursor),
        q.limit + 1,
      );
      return page(rows, q.limit, (r) => events.toResource(r, false));
    },
  );

  app.get<{ Params: { id: string } }>(
    `${PATH}/:id`,
    { schema: { tags, summary: 'Get an event with its payload', security, params: IdParams, response: errorResponses } },
    async (request) => ({
      data: events.toResource(await events.get(request.organizationId, Number(request.params.id)), true),
    }),
  );

  app.get(
    '/event-subscriptions/event-types',
    { schema: { tags, summary: 'The event-type catalog, each with its JSON schema', security } },
    async () => ({
      data: catalog.all().map((t) => ({ name: t.name, description: t.description, schema: t.schema })),
    }),
  );

}
