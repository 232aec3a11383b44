import { type TSchema, Type } from '@sinclair/typebox';

/** `_id`: 24 hex characters; anything else cannot exist, so it answers 404. */
export const WebhookIdParams = Type.Object({ id: Type.String({ pattern: '^[0-9a-fA-F]{24}$' }) });

const Millis = Type.String({ format: 'date-time', description: 'ISO 8601 with milliseconds.' });

/** The writable fields; create requires name, url and events, PATCH none. */
export function webhookFields(eventNames: string[]) {
  return {
    name: Type.String({ minLength: 1, maxLength: 200, description: 'Trimmed; may not be blank.' }),
    url: Type.String({ minLength: 1, maxLength: 2048, description: 'Absolute http or https URL receiving the events.' }),
    events: Type.Array(Type.String({ enum: eventNames }), {
      minItems: 1,
      maxItems: 100,
      description: 'Event names of the catalog; duplicates count once.',
    }),
    // 16+ characters: the abbreviated form (first 4 + "...") shows at most a quarter of it.
    secret: Type.String({ minLength: 16, maxLength: 256, description: 'HMAC signing secret; 64 random hex chars when omitted.' }),
    retryAttempts: Type.Integer({ minimum: 0, maximum: 10, description: 'Retries after the first attempt (default 3).' }),
    timeoutMs: Type.Integer({ minimum: 1000, maximum: 30000, description: 'Per-attempt timeout (default 10000).' }),
  };
}

export const WebhookStatus = Type.Union([Type.Literal('active'), Type.Literal('inactive'), Type.Literal('disabled')], {
  description: 'inactive: paused (SendKit); disabled: switched off by endpoint health or by hand, deliveries wait (Herald)',
});

export const Webhook = Type.Object({
  _id: Type.String(),
  workspaceId: Type.String(),
  name: Type.String(),
  url: Type.String(),
  events: Type.Array(Type.String()),
  secret: Type.String({ description: 'Whole in the answer to create only; afterwards the first 4 characters and "...".' }),
  retryAttempts: Type.Integer(),
  timeoutMs: Type.Integer(),
  status: WebhookStatus,
  stats: Type.Object({
    totalDelivered: Type.Integer(),
    totalFailed: Type.Integer(),
    lastDeliveredAt: Type.Union([Millis, Type.Null()]),
  }),
  createdBy: Type.String(),
  createdAt: Millis,
  updatedAt: Millis,
});

export const Pagination = Type.Object({
  limit: Type.Integer(),
  total: Type.Integer(),
  hasMore: Type.Boolean(),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});

export const TestResult = Type.Object({
  statusCode: Type.Union([Type.Integer(), Type.Null()], { description: 'null when no HTTP answer came.' }),
  delivered: Type.Boolean(),
});

export const success = <T extends TSchema>(data: T) => Type.Object({ success: Type.Literal(true), data });

/** The SendKit error body; the shared error handler renders every `/v1` error this way. */
export const ErrorBody = Type.Object({ error: Type.String(), message: Type.String(), code: Type.Integer() });

export const errorResponses = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 429: ErrorBody };

export const security: { [scheme: string]: string[] }[] = [{ SendkitApiKey: [] }];
