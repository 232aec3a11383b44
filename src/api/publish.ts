import { type TSchema, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { EventTypeCatalog } from '../domain/event-types/catalog.js';
import { type EventInput, type EventService, MAX_BATCH, profileSchema } from '../domain/events.js';
import { ErrorsBody, Timestamp, data, eventTypeSchema } from './v3/schemas.js';

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

const Accepted = Type.Object({
  id: Type.Integer(),
  event_type: Type.String(),
  created_at: Timestamp,
  deliveries: Type.Integer({ description: 'Deliveries created (one per active matching subscription).' }),
});

/** The bodies of the two publishing operations (also what `herald events send` checks a file against). */
export function eventBodySchemas(catalog: EventTypeCatalog) {
  const event = Type.Object(
    {
      event_type: eventTypeSchema(catalog.names()),
      data: Type.Object({}, { additionalProperties: true, description: "Validated against the event type's schema." }),
      profile: Type.Optional(Type.Unsafe<Record<string, string>>(profileSchema)),
    },
    { additionalProperties: false },
  );
  const batch = Type.Object({ events: Type.Array(event, { minItems: 1, maxItems: MAX_BATCH }) }, { additionalProperties: false });
  return { event, batch };
}

export interface PublishRoutes {
  /** Path of the single-event operation; the batch is `<path>/batch`. */
  path: string;
  events: EventService;
  catalog: EventTypeCatalog;
  tags: string[];
  security: { [scheme: string]: string[] }[];
  /** What else the operations can answer (the dialect's errors; 409 for a reused key is added). */
  errors: Record<number, TSchema>;
  params?: TSchema;
  /** The organization the events are published for; throws (404) when there is none. */
  organization: (request: FastifyRequest) => number | Promise<number>;
  summaryNote?: string;
}

/**
 * `POST <path>` and `POST <path>/batch`: one event or up to MAX_BATCH, committed with one
 * delivery per active matching subscription before the 202. The v3 dialect publishes for the
 * caller's organization, the admin API for the organization in its path; both are these
 * routes over the same EventService, so bodies, validation, Idempotency-Key and answers match.
 */
export function publishRoutes(app: FastifyInstance, opts: PublishRoutes): void {
  const { events, catalog, tags, security } = opts;
  const { event: EventBody, batch: BatchBody } = eventBodySchemas(catalog);
  const errors = { ...opts.errors, 409: ErrorsBody };
  const params = opts.params ? { params: opts.params } : {};
  const note = opts.summaryNote ?? '';
  const idempotencyKey = (headers: { 'idempotency-key'?: string }) => headers['idempotency-key'];

  app.post<{ Body: EventInput; Headers: { 'idempotency-key'?: string } }>(
    opts.path,
    {
      schema: {
        tags,
        summary: `Publish an event${note}`,
        description:
          'Committed with one delivery per active matching subscription before the 202. ' +
          'A request that would create more deliveries than HERALD_MAX_DELIVERIES_PER_REQUEST is refused whole (400).',
        security,
        ...params,
        headers: IdempotencyHeaders,
        body: EventBody,
        response: { 202: data(Accepted), ...errors },
      },
    },
    async (request, reply) => {
      const organizationId = await opts.organization(request);
      const answer = await events.ingestOne(organizationId, request.body, idempotencyKey(request.headers));
      return reply.code(202).send({ data: answer.accepted[0] });
    },
  );

  app.post<{ Body: { events: EventInput[] }; Headers: { 'idempotency-key'?: string } }>(
    `${opts.path}/batch`,
    {
      schema: {
        tags,
        summary: `Publish up to ${MAX_BATCH} events in one transaction${note}`,
        description:
          'All or nothing. A batch whose events would create more deliveries (events × active matching ' +
          'subscriptions) than HERALD_MAX_DELIVERIES_PER_REQUEST is refused whole (400), naming the count.',
        security,
        ...params,
        headers: IdempotencyHeaders,
        body: BatchBody,
        response: { 202: Type.Object({ data: Type.Array(Accepted) }), ...errors },
      },
    },
    async (request, reply) => {
      const organizationId = await opts.organization(request);
      const answer = await events.ingest(organizationId, request.body.events, idempotencyKey(request.headers));
      return reply.code(202).send({ data: answer.accepted });
    },
  );
}
