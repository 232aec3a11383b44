import type { FastifyInstance } from 'fastify';
import { readStats } from '../../domain/stats.js';
import type { Store } from '../../store/store.js';
import { data } from '../v3/schemas.js';
import { Stats, adminErrors, security, tags } from './schemas.js';

export async function statsRoutes(app: FastifyInstance, opts: { store: Store }) {
  app.get(
    '/stats',
    {
      schema: {
        tags,
        summary: 'Totals across organizations',
        description: 'Organizations, connections, the queue, and deliveries finished in the last hour (counted per minute).',
        security,
        response: { 200: data(Stats), ...adminErrors },
      },
    },
    async () => ({ data: await readStats(opts.store) }),
  );
}
