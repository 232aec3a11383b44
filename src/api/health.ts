import { createHash, timingSafeEqual } from 'node:crypto';
import { sql } from 'kysely';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Herald } from '../herald.js';
import { parseBearer } from './auth.js';
import { sendError } from './errors.js';

/**
 * Constant-time comparison of a presented bearer token with the configured one: both are
 * hashed first, so the comparison takes the same time whatever their lengths.
 */
function tokenMatches(request: FastifyRequest, expected: string): boolean {
  const presented = parseBearer(request.headers.authorization);
  if (presented === undefined) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

export async function healthRoutes(app: FastifyInstance, opts: { herald: Herald }) {
  const { herald } = opts;
  const hide = { hide: true };
  const metricsToken = herald.config.metricsToken;
  app.get('/healthz', { config: { public: true }, schema: hide }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { public: true }, schema: hide }, async (request, reply) => {
    try {
      await sql`select 1`.execute(herald.database.db);
      return { status: 'ready' };
    } catch (error) {
      // The error's text can name hosts, users or files: it goes to the log, not to the caller.
      request.log.error({ err: error }, 'readiness check failed: database unreachable');
      return reply.code(503).send({ status: 'not ready' });
    }
  });
  app.get('/metrics', { config: { public: true }, schema: hide }, async (request, reply) => {
    if (metricsToken !== undefined && !tokenMatches(request, metricsToken)) {
      reply.header('www-authenticate', 'Bearer realm="herald-metrics"');
      return sendError(request, reply, 401, [
        {
          code: 'authentication_failed',
          detail: request.headers.authorization
            ? 'Invalid metrics token.'
            : 'Authentication credentials were not provided (Authorization: Bearer <HERALD_METRICS_TOKEN>).',
        },
      ]);
    }
    reply.type(herald.metrics.registry.contentType);
    // The queue gauges were computed by the refresh timer; a scrape runs no query.
    return herald.metrics.registry.metrics();
  });
}
