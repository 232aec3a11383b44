import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { HeraldError } from '../../domain/errors.js';
import type { NewWebhook, WebhookPatch, WebhookService } from '../../domain/sendkit/webhooks.js';
import { decodeCursor } from '../pagination.js';
import { allowEmptyJsonBody } from './empty-json-body.js';
import {
  Pagination,
  TestResult,
  Webhook,
  WebhookIdParams,
  WebhookStatus,
  errorResponses,
  security,
  success,
  webhookFields,
} from './schemas.js';

const PATH = '/webhooks';
const tags = ['SendKit webhooks'];

/** Who created a webhook: a secret key does not say more than its workspace, so "api". */
const CREATED_BY = 'api';

/**
 * The connection id a cursor continues after. `decodeCursor` lets any integer through; one
 * past 2^53 is no id Herald issued, and would overflow PostgreSQL's bigint (a 500).
 */
function afterId(cursor: string | undefined): number {
  const id = decodeCursor(cursor) ?? 0;
  if (!Number.isSafeInteger(id)) {
    throw new HeraldError(400, [{ code: 'invalid', detail: 'Invalid cursor.', parameter: 'cursor' }]);
  }
  return id;
}

export async function webhookRoutes(app: FastifyInstance, opts: { webhooks: WebhookService; eventNames: string[] }) {
  const { webhooks } = opts;
  allowEmptyJsonBody(app);
  const fields = webhookFields(opts.eventNames);
  const CreateBody = Type.Object(
    {
      name: fields.name,
      url: fields.url,
      events: fields.events,
      secret: Type.Optional(fields.secret),
      retryAttempts: Type.Optional(fields.retryAttempts),
      timeoutMs: Type.Optional(fields.timeoutMs),
    },
    { additionalProperties: false },
  );
  const UpdateBody = Type.Partial(Type.Object({ ...fields, status: WebhookStatus }), { additionalProperties: false });

  app.post<{ Body: NewWebhook }>(
    PATH,
    {
      schema: {
        tags,
        summary: 'Create a webhook',
        description: 'The answer is the only one that shows the whole secret.',
        security,
        body: CreateBody,
        response: { 201: success(Webhook), ...errorResponses },
      },
    },
    async (request, reply) => {
      const webhook = await webhooks.create(request.organizationId, request.body, CREATED_BY);
      return reply.code(201).send({ success: true, data: webhook });
    },
  );

  app.get<{ Querystring: { limit: number; cursor?: string } }>(
    PATH,
    {
      schema: {
        tags,
        summary: 'List webhooks, oldest first',
        security,
        querystring: Type.Object({
          limit: Type.Integer({ minimum: 1, maximum: 100, default: 25 }),
          cursor: Type.Optional(Type.String({ description: 'Opaque; `pagination.nextCursor` of the previous page.' })),
        }),
        response: {
          200: Type.Object({ success: Type.Literal(true), data: Type.Array(Webhook), pagination: Pagination }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { limit, cursor } = request.query;
      const page = await webhooks.list(request.organizationId, limit, afterId(cursor));
      return { success: true, ...page };
    },
  );

  app.get<{ Params: { id: string } }>(
    `${PATH}/:id`,
    {
      schema: {
        tags,
        summary: 'Get a webhook',
        security,
        params: WebhookIdParams,
        response: { 200: success(Webhook), ...errorResponses },
      },
    },
    async (request) => ({ success: true, data: await webhooks.get(request.organizationId, request.params.id) }),
  );

  app.patch<{ Params: { id: string }; Body: WebhookPatch }>(
    `${PATH}/:id`,
    {
      schema: {
        tags,
        summary: 'Update a webhook',
        description: 'Only the fields given change. `status: inactive` pauses every event of the webhook.',
        security,
        params: WebhookIdParams,
        body: UpdateBody,
        response: { 200: success(Webhook), ...errorResponses },
      },
    },
    async (request) => ({
      success: true,
      data: await webhooks.update(request.organizationId, request.params.id, request.body),
    }),
  );

  app.delete<{ Params: { id: string } }>(
    `${PATH}/:id`,
    {
      schema: {
        tags,
        summary: 'Delete a webhook (its pending deliveries go with it)',
        security,
        params: WebhookIdParams,
        response: { 200: Type.Object({ success: Type.Literal(true) }), ...errorResponses },
      },
    },
    async (request) => {
      await webhooks.delete(request.organizationId, request.params.id);
      return { success: true };
    },
  );

  app.post<{ Params: { id: string } }>(
    `${PATH}/:id/test`,
    {
      schema: {
        tags,
        summary: 'Send a test delivery of the first event type',
        description: 'Sent once with `X-Webhook-Event: test`; answers 200 also when the endpoint fails.',
        security,
        params: WebhookIdParams,
        response: { 200: success(TestResult), ...errorResponses },
      },
    },
    async (request) => ({ success: true, data: await webhooks.test(request.organizationId, request.params.id) }),
  );
}
