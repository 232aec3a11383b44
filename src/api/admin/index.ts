import type { FastifyInstance } from 'fastify';
import type { Herald } from '../../herald.js';
import { adminTokenCheck } from './auth.js';
import { adminEventRoutes } from './events.js';
import { keyRoutes } from './keys.js';
import { organizationRoutes } from './organizations.js';
import { portalSessionRoutes } from './portal-sessions.js';
import { statsRoutes } from './stats.js';

export const ADMIN_PREFIX = '/admin/v1';

/**
 * The operator's API under /admin/v1, registered only when HERALD_ADMIN_TOKEN is set:
 * without it every /admin path is a plain 404. Its own credential (the admin token) and
 * nothing else; requests are not counted against any organization's rate limits.
 */
export async function registerAdmin(app: FastifyInstance, herald: Herald): Promise<void> {
  const token = herald.config.adminToken;
  if (token === undefined) return;
  await app.register(
    async (admin) => {
      admin.addHook('onRequest', adminTokenCheck(token));
      await admin.register(organizationRoutes, { organizations: herald.organizations });
      await admin.register(keyRoutes, { keys: herald.apiKeys });
      await admin.register(adminEventRoutes, { events: herald.events, catalog: herald.catalog, organizations: herald.organizations });
      await admin.register(statsRoutes, { store: herald.store });
      await admin.register(portalSessionRoutes, { organizations: herald.organizations, sessions: herald.portal });
    },
    { prefix: ADMIN_PREFIX },
  );
}
