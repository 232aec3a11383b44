import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ConnectionHealthService } from '../../domain/connection-health.js';
import type { ConnectionService } from '../../domain/connections.js';
import { notFound } from '../../domain/errors.js';
import { Connection, ConnectionType, IdParams, data, dataList, errorResponses, security } from './schemas.js';

const PATH = '/event-subscriptions/connections';
const tags = ['Connections'];

const CreateBody = Type.Object(
  {
    type: ConnectionType,
    configuration: Type.Object({}, { additionalProperties: true }),
  },
  { additionalProperties: false },
);

const UpdateBody = Type.Object(
  {
    type: Type.Optional(ConnectionType),
    configuration: Type.Optional(Type.Object({}, { additionalProperties: true })),
  },
  { additionalProperties: false },
);

const TypeParams = Type.Object({ connection_type: Type.String() });

const EnableBody = Type.Object(
  {
    deliver_backlog: Type.Optional(
      Type.Boolean({ default: true, description: 'true: the deliveries that waited go out; false: they fail with "skipped on enable".' }),
    ),
  },
  { additionalProperties: false },
);

export async function connectionRoutes(
  app: FastifyInstance,
  opts: { connections: ConnectionService; health: ConnectionHealthService },
) {
  const { connections, health } = opts;

  app.post<{ Params: { id: string } }>(
    `${PATH}/:id/disable`,
    {
      schema: {
        tags,
        summary: 'Disable a connection',
        description: 'Nothing is sent to it until it is enabled; its deliveries wait (none is lost or counted as an attempt).',
        security,
        params: IdParams,
        response: { 200: data(Connection), ...errorResponses },
      },
    },
    async (request) => {
      const id = Number(request.params.id);
      await health.disable(request.organizationId, id);
      return { data: connections.toResource(await connections.get(request.organizationId, id)) };
    },
  );

  app.post<{ Params: { id: string }; Body: { deliver_backlog?: boolean } | undefined }>(
    `${PATH}/:id/enable`,
    {
      schema: {
        tags,
        summary: 'Enable a connection',
        description: 'Closes its circuit with a fresh count of failures; `deliver_backlog` says what becomes of the deliveries that waited.',
        security,
        params: IdParams,
        body: EnableBody,
        response: { 200: data(Connection), ...errorResponses },
      },
    },
    async (request) => {
      const id = Number(request.params.id);
      await health.enable(request.organizationId, id, request.body?.deliver_backlog ?? true);
      return { data: connections.toResource(await connections.get(request.organizationId, id)) };
    },
  );

  app.post<{ Body: { type: string; configuration: unknown } }>(
    PATH,
    {
      schema: {
        tags,
        summary: 'Create a connection',
        operationId: 'sc-public-v3-scp-post-create_connection',
        security,
        body: CreateBody,
        response: { 201: data(Connection), ...errorResponses },
      },
    },
    async (request, reply) => {
      const row = await connections.create(request.organizationId, request.body.type, request.body.configuration);
      return reply.code(201).send({ data: connections.toResource(row) });
    },
  );

  app.get<{ Querystring: { connection_type?: string } }>(
    PATH,
    {
      schema: {
        tags,
        summary: 'List connections',
        operationId: 'sc-public-v3-scp-get-list_connections',
        security,
        querystring: Type.Object({ connection_type: Type.Optional(ConnectionType) }),
        response: { 200: dataList(Connection), ...errorResponses },
      },
    },
    async (request) => {
      const rows = await connections.list(request.organizationId, request.query.connection_type);
      return { data: rows.map((r) => connections.toResource(r)) };
    },
  );

  app.get<{ Params: { connection_type: string } }>(
    `${PATH}/type/:connection_type`,
    {
      schema: {
        tags,
        summary: 'List connections of one type',
        security,
        params: TypeParams,
        response: { 200: dataList(Connection), ...errorResponses },
      },
    },
    async (request) => {
      const type = request.params.connection_type;
      if (type !== 'webhook' && type !== 'klaviyo') throw notFound();
      const rows = await connections.list(request.organizationId, type);
      return { data: rows.map((r) => connections.toResource(r)) };
    },
  );

  app.get<{ Params: { id: string } }>(
    `${PATH}/:id`,
    {
      schema: {
        tags,
        summary: 'Get a connection',
        operationId: 'sc-public-v3-scp-get-connection',
        security,
        params: IdParams,
        response: { 200: data(Connection), ...errorResponses },
      },
    },
    async (request) => ({
      data: connections.toResource(await connections.get(request.organizationId, Number(request.params.id))),
    }),
  );

  app.patch<{ Params: { id: string }; Body: { type?: string; configuration?: unknown } }>(
    `${PATH}/:id`,
    {
      schema: {
        tags,
        summary: 'Update a connection',
        description: 'Only the fields given change; `configuration` is merged key by key.',
        operationId: 'sc-public-v3-scp-patch-connection',
        security,
        params: IdParams,
        body: UpdateBody,
        response: { 200: data(Connection), ...errorResponses },
      },
    },
    async (request) => {
      const row = await connections.update(request.organizationId, Number(request.params.id), request.body);
      return { data: connections.toResource(row) };
    },
  );

  app.delete<{ Params: { id: string } }>(
    `${PATH}/:id`,
    {
      schema: {
        tags,
        summary: 'Delete a connection and its subscriptions',
        operationId: 'sc-public-v3-scp-delete-connection',
        security,
        params: IdParams,
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      await connections.delete(request.organizationId, Number(request.params.id));
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { id: string } }>(
    `${PATH}/:id/secret`,
    {
      schema: {
        tags,
        summary: "Read the connection's signing secret",
        security,
        params: IdParams,
        response: { 200: data(Type.Object({ secret: Type.String() })), ...errorResponses },
      },
    },
    async (request) => {
      const row = await connections.get(request.organizationId, Number(request.params.id));
      return { data: { secret: connections.signingSecret(row) } };
    },
  );

  app.post<{ Params: { id: string } }>(
    `${PATH}/:id/secret/rotate`,
    {
      schema: {
        tags,
        summary: 'Rotate the signing secret (the old one stays valid for 24 h)',
        security,
        params: IdParams,
        response: {
          200: data(Type.Object({ secret: Type.String(), previous_secret_expires_at: Type.String() })),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const row = await connections.rotateSecret(request.organizationId, Number(request.params.id));
      return {
        data: {
          secret: connections.signingSecret(row),
          previous_secret_expires_at: new Date(connections.rotatedOutUntil(row)).toISOString(),
        },
      };
    },
  );
}
