import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { type ApiKeyService, keyResource } from '../../domain/api-keys.js';
import { PageQuery, decodeCursor, page, parseTime } from '../pagination.js';
import { data } from '../v3/schemas.js';
import { ApiKey, ApiKeyCreate, IssuedApiKey, KeyParams, OrganizationId, PageMeta, adminErrors, security, tags } from './schemas.js';

const PATH = '/organizations/:id/keys';

/** An organization's API key pairs: issue (the secret shown once), list, revoke. */
export async function keyRoutes(app: FastifyInstance, opts: { keys: ApiKeyService }) {
  const { keys } = opts;

  app.post<{ Params: { id: string }; Body: { description?: string | null; expires_at?: string | null } }>(
    PATH,
    {
      schema: {
        tags,
        summary: 'Issue an API key pair',
        description: 'The answer is the only time `secret_key` is shown. After `expires_at` the key and its tokens answer 401.',
        security,
        params: OrganizationId,
        body: ApiKeyCreate,
        response: { 201: data(IssuedApiKey), ...adminErrors },
      },
    },
    async (request, reply) => {
      const { description, expires_at: expiresAt } = request.body;
      const issued = await keys.create(Number(request.params.id), {
        description: description ?? null,
        expiresAt: expiresAt == null ? null : (parseTime(expiresAt, 'expires_at') as number),
      });
      return reply.code(201).send({ data: issued });
    },
  );

  app.get<{ Params: { id: string }; Querystring: { limit: number; cursor?: string } }>(
    PATH,
    {
      schema: {
        tags,
        summary: "List an organization's keys, oldest first (never their secrets)",
        security,
        params: OrganizationId,
        querystring: Type.Object({ ...PageQuery }),
        response: { 200: Type.Object({ data: Type.Array(ApiKey), meta: PageMeta }), ...adminErrors },
      },
    },
    async (request) => {
      const { limit, cursor } = request.query;
      const rows = await keys.page(Number(request.params.id), decodeCursor(cursor) ?? 0, limit + 1);
      return page(rows, limit, keyResource);
    },
  );

  app.delete<{ Params: { id: string; key_id: string } }>(
    `${PATH}/:key_id`,
    {
      schema: {
        tags,
        summary: 'Revoke a key',
        description: 'From the 204 on, the key and every OAuth2 access token minted with it answer 401, in every Herald process.',
        security,
        params: KeyParams,
        response: { 204: Type.Null(), ...adminErrors },
      },
    },
    async (request, reply) => {
      await keys.revoke(Number(request.params.key_id), Number(request.params.id));
      return reply.code(204).send();
    },
  );
}
