import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ACTIVITY_RANGES, type ActivityRange, type ConnectionActivityService } from '../../domain/connection-activity.js';
import { IdParams, Timestamp, data, dataList, errorResponses, security } from './schemas.js';

const tags = ['Connections'];
const Counts = { succeeded: Type.Integer({ minimum: 0 }), failed: Type.Integer({ minimum: 0 }) };

/** Deliveries finished per connection over time (hourly counters; never a scan of the attempt log). */
export async function activityRoutes(app: FastifyInstance, opts: { activity: ConnectionActivityService }) {
  const { activity } = opts;

  app.get(
    '/event-subscriptions/connections/activity',
    {
      schema: {
        tags,
        summary: 'Deliveries finished in the last 24 hours, per connection',
        description: 'Connections that finished none in that time are left out.',
        security,
        response: {
          200: dataList(
            Type.Object({
              connection_id: Type.Integer({ minimum: 1 }),
              ...Counts,
              success_rate: Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()]),
            }),
          ),
          ...errorResponses,
        },
      },
    },
    async (request) => ({ data: await activity.last24h(request.organizationId) }),
  );

  app.get<{ Params: { id: string }; Querystring: { range: ActivityRange } }>(
    '/event-subscriptions/connections/:id/activity',
    {
      schema: {
        tags,
        summary: "A connection's deliveries succeeded and failed over time",
        description: '`24h`: 24 hourly buckets, the current hour last. `7d`: 28 buckets of 6 hours.',
        security,
        params: IdParams,
        querystring: Type.Object({ range: Type.String({ enum: Object.keys(ACTIVITY_RANGES), default: '24h' }) }),
        response: {
          200: data(Type.Object({ ...Counts, buckets: Type.Array(Type.Object({ start: Timestamp, ...Counts })) })),
          ...errorResponses,
        },
      },
    },
    async (request) => ({ data: await activity.series(request.organizationId, Number(request.params.id), request.query.range) }),
  );
}
