import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { MAX_EXTERNAL_ID, type OrganizationInput, type OrganizationPatch, type OrganizationService } from '../../domain/organizations.js';
import { PageQuery, decodeCursor, page } from '../pagination.js';
import { ErrorsBody, data } from '../v3/schemas.js';
import { Organization, OrganizationCreate, OrganizationId, OrganizationPatch as PatchBody, PageMeta, adminErrors, security, tags } from './schemas.js';

const PATH = '/organizations';

/** Organizations (tenants): create, list, get, rename/suspend/activate, delete. */
export async function organizationRoutes(app: FastifyInstance, opts: { organizations: OrganizationService }) {
  const { organizations } = opts;

  app.post<{ Body: OrganizationInput }>(
    PATH,
    {
      schema: {
        tags,
        summary: 'Create an organization',
        description: '`external_id` is your own id of the customer: unique, so a repeat answers 409.',
        security,
        body: OrganizationCreate,
        response: { 201: data(Organization), ...adminErrors, 409: ErrorsBody },
      },
    },
    async (request, reply) => reply.code(201).send({ data: organizations.toResource(await organizations.create(request.body)) }),
  );

  app.get<{ Querystring: { external_id?: string; limit: number; cursor?: string } }>(
    PATH,
    {
      schema: {
        tags,
        summary: 'List organizations, oldest first',
        security,
        querystring: Type.Object({
          external_id: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_EXTERNAL_ID, description: 'Only the organization with this external id.' })),
          ...PageQuery,
        }),
        response: { 200: Type.Object({ data: Type.Array(Organization), meta: PageMeta }), ...adminErrors },
      },
    },
    async (request) => {
      const q = request.query;
      const rows = await organizations.page(
        q.external_id !== undefined ? { externalId: q.external_id } : {},
        decodeCursor(q.cursor) ?? 0,
        q.limit + 1,
      );
      return page(rows, q.limit, (r) => organizations.toResource(r));
    },
  );

  app.get<{ Params: { id: string } }>(
    `${PATH}/:id`,
    { schema: { tags, summary: 'Get an organization', security, params: OrganizationId, response: { 200: data(Organization), ...adminErrors } } },
    async (request) => ({ data: organizations.toResource(await organizations.get(Number(request.params.id))) }),
  );

  app.patch<{ Params: { id: string }; Body: OrganizationPatch }>(
    `${PATH}/:id`,
    {
      schema: {
        tags,
        summary: 'Rename, suspend or activate an organization',
        description:
          'Suspended: its keys and access tokens answer 401 and its deliveries wait (parked, not attempted). ' +
          'Active again: every waiting delivery of its active subscriptions is due at once.',
        security,
        params: OrganizationId,
        body: PatchBody,
        response: { 200: data(Organization), ...adminErrors },
      },
    },
    async (request) => {
      const id = Number(request.params.id);
      const patch = request.body;
      const row = patch.name === undefined && patch.status === undefined ? await organizations.get(id) : await organizations.update(id, patch);
      return { data: organizations.toResource(row) };
    },
  );

  app.delete<{ Params: { id: string } }>(
    `${PATH}/:id`,
    {
      schema: {
        tags,
        summary: 'Delete an organization and everything it owns',
        description:
          'It is gone at once for everyone (404; its keys answer 401); its keys, connections, subscriptions, events, ' +
          'deliveries and attempts are then removed in batches of short transactions before the 204.',
        security,
        params: OrganizationId,
        response: { 204: Type.Null(), ...adminErrors },
      },
    },
    async (request, reply) => {
      await organizations.delete(Number(request.params.id));
      return reply.code(204).send();
    },
  );
}
