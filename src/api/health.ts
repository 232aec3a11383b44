import { sql } from 'kysely';
import type { FastifyInstance } from 'fastify';
import type { Herald } from '../herald.js';

export async function healthRoutes(app: FastifyInstance, opts: { herald: Herald }) {
  const { herald } = opts;
  const hide = { hide: true };
  app.get('/healthz', { config: { public: true }, schema: hide }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { public: true }, schema: hide }, async (_request, reply) => {
    try {
      await sql`select 1`.execute(herald.database.db);
      return { status: 'ready' };
    } catch (error) {
      return reply.code(503).send({ status: 'unavailable', error: String(error) });
    }
  });
  app.get('/metrics', { config: { public: true }, schema: hide }, async (_request, reply) => {
    reply.type(herald.metrics.registry.contentType);
    return herald.metrics.registry.metrics();
  });
}
