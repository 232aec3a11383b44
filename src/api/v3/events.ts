import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { EventTypeCatalog } from '../../domain/event-types/catalog.js';
import type { EventService } from '../../domain/events.js';
import { PageQuery, decodeCursor, page, parseTime } from '../pagination.js';
import { publishRoutes } from '../publish.js';
import { IdParams, dataList, errorResponses, keySecurity, security } from './schemas.js';

const PATH = '/event-subscriptions/events';
const tags = ['Events'];

export async function eventRoutes(app: FastifyInstance, opts: { events: EventService; catalog: EventTypeCatalog }) {
  const { events, catalog } = opts;
  publishRoutes(app, {
    path: PATH,
    events,
    catalog,
    tags,
    // Publishing is the platform's job: no portal session may (src/portal/capabilities.ts).
    security: keySecurity,
    errors: errorResponses,
    organization: (request) => request.organizationId,
  });

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
    {
      schema: {
        tags,
        summary: 'The event-type catalog, each with its JSON schema',
        security,
        response: {
          200: dataList(
            Type.Object({
              name: Type.String(),
              description: Type.String(),
              schema: Type.Unknown({ description: 'The JSON schema of the payload.' }),
              sample: Type.Unknown({ description: 'A sample payload.' }),
            }),
          ),
          ...errorResponses,
        },
      },
    },
    async () => ({
      data: catalog.all().map((t) => ({ name: t.name, description: t.description, schema: t.schema, sample: t.sample })),
    }),
  );

}
