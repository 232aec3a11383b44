import type { FastifyInstance, HTTPMethods } from 'fastify';
import { sendError } from './errors.js';

const METHODS: HTTPMethods[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/**
 * Fastify answers an unregistered method with 404; the API answers 405 with `Allow`. Routes
 * are recorded as they are added, then the missing methods of each path get a 405 route.
 */
export function trackRoutes(app: FastifyInstance): () => void {
  const byPath = new Map<string, Set<string>>();
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const set = byPath.get(route.url) ?? new Set<string>();
    for (const m of methods) set.add(m);
    byPath.set(route.url, set);
  });
  return () => {
    for (const [url, methods] of [...byPath]) {
      if (!url.startsWith('/api/v3/') && !url.startsWith('/v1/') && !url.startsWith('/admin/') && url !== '/oauth2/token') continue;
      const missing = METHODS.filter((m) => !methods.has(m));
      if (missing.length === 0 || methods.has('*' as HTTPMethods)) continue;
      const allow = [...methods].filter((m) => m !== 'HEAD').join(', ');
      app.route({
        method: missing,
        url,
        config: { public: true },
        schema: { hide: true },
        handler: (request, reply) => {
          reply.header('allow', allow);
          return sendError(request, reply, 405, [{ code: 'invalid', detail: `Method "${request.method}" not allowed.` }]);
        },
      });
    }
  };
}
