import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { EventTypeCatalog } from '../../domain/event-types/catalog.js';
import type { EventService } from '../../domain/events.js';
import type { OrganizationService } from '../../domain/organizations.js';
import { publishRoutes } from '../publish.js';
import { OrganizationId, adminErrors, security, tags } from './schemas.js';

/**
 * Publishing on behalf of an organization, without its key: the v3 operations' bodies,
 * validation, Idempotency-Key (the organization's own key space) and 202 answers. A suspended
 * organization's events are accepted; their deliveries wait until it is active.
 */
export async function adminEventRoutes(
  app: FastifyInstance,
  opts: { events: EventService; catalog: EventTypeCatalog; organizations: OrganizationService },
) {
  publishRoutes(app, {
    path: '/organizations/:id/events',
    events: opts.events,
    catalog: opts.catalog,
    tags,
    security,
    errors: adminErrors,
    params: OrganizationId,
    summaryNote: ' for an organization',
    organization: async (request: FastifyRequest) => {
      const { id } = request.params as { id: string };
      return (await opts.organizations.get(Number(id))).id;
    },
  });
}
