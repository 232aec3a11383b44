import { type TSchema, Type } from '@sinclair/typebox';
import { CONNECTION_TYPES } from '../../connectors/registry.js';

/** Path ids: a positive integer, else the resource does not exist (404). */
export const IdParams = Type.Object({ id: Type.String({ pattern: '^[1-9][0-9]{0,15}$' }) });

/**
 * An id given in a body or a query filter. Herald issues ids below 2^53 (they are JavaScript
 * numbers); a larger one exists nowhere and would overflow PostgreSQL's bigint.
 */
export const Id = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });

export const Timestamp = Type.String({ format: 'date-time' });

export const ConnectionType = Type.String({ enum: [...CONNECTION_TYPES], description: 'The type of connection.' });

export const Connection = Type.Object(
  {
    id: Type.Integer({ minimum: 1 }),
    type: ConnectionType,
    configuration: Type.Object({}, { additionalProperties: true, description: 'Shape depends on the type; secrets are never returned.' }),
    status: Type.String({
      description:
        'active | failing (circuit open: only probes go out) | disabled (nothing goes out; deliveries wait) | pending_authorization | authorization_failed',
    }),
    status_reason: Type.Optional(Type.String()),
    created_at: Timestamp,
    updated_at: Timestamp,
    failing_since: Type.Union([Timestamp, Type.Null()], { description: 'First failure of the current streak of failed attempts.' }),
    consecutive_failures: Type.Integer({ minimum: 0 }),
    last_success_at: Type.Union([Timestamp, Type.Null()]),
    last_failure_at: Type.Union([Timestamp, Type.Null()]),
    disabled_at: Type.Union([Timestamp, Type.Null()]),
  },
  { $id: 'connection' },
);

export function eventTypeSchema(names: string[]) {
  return Type.String({ enum: names, description: 'An event type of the catalog.' });
}

export const Subscription = (names: string[]) =>
  Type.Object({
    id: Type.Integer({ minimum: 1 }),
    connection_id: Type.Integer({ minimum: 1 }),
    event_type: eventTypeSchema(names),
    is_active: Type.Boolean(),
    status_reason: Type.Optional(Type.String()),
    created_at: Timestamp,
    updated_at: Timestamp,
  });

export const ErrorsBody = Type.Object({
  errors: Type.Array(
    Type.Object({
      status: Type.String(),
      code: Type.String(),
      detail: Type.String(),
      source: Type.Optional(
        Type.Object({
          pointer: Type.Optional(Type.String()),
          parameter: Type.Optional(Type.String()),
          header: Type.Optional(Type.String()),
        }),
      ),
    }),
  ),
});

export const data = <T extends TSchema>(schema: T) => Type.Object({ data: schema });
export const dataList = <T extends TSchema>(schema: T) => Type.Object({ data: Type.Array(schema) });

export const errorResponses = {
  400: ErrorsBody,
  401: ErrorsBody,
  404: ErrorsBody,
  429: ErrorsBody,
};

/**
 * The v3 API's credentials: the key pair, an OAuth2 token, or the customer portal's session
 * cookie (src/portal/auth.ts; writes with it also need the session's X-CSRF-Token).
 */
export const keySecurity: { [scheme: string]: string[] }[] = [{ HTTPBasicAuth: [] }, { OAuth2ClientCreds: ['api'] }];
export const security: { [scheme: string]: string[] }[] = [...keySecurity, { PortalCookie: [] }];

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const DeliveryStatusSchema = Type.String({ enum: ['pending', 'parked', 'succeeded', 'failed'] });

export const Delivery = Type.Object({
  id: Type.Integer({ minimum: 1 }),
  event_id: Type.Integer({ minimum: 1 }),
  subscription_id: Type.Integer({ minimum: 1 }),
  connection_id: Type.Integer({ minimum: 1 }),
  status: DeliveryStatusSchema,
  attempt_count: Type.Integer({ minimum: 0 }),
  next_attempt_at: Nullable(Timestamp),
  in_flight: Type.Boolean(),
  last_status_code: Nullable(Type.Integer()),
  last_error: Nullable(Type.String()),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const Attempt = Type.Object({
  id: Type.Integer({ minimum: 1 }),
  delivery_id: Nullable(Type.Integer({ minimum: 1 })),
  subscription_id: Type.Integer({ minimum: 1 }),
  connection_id: Type.Integer({ minimum: 1 }),
  number: Type.Integer({ minimum: 0 }),
  is_test: Type.Boolean(),
  started_at: Timestamp,
  duration_ms: Type.Integer({ minimum: 0 }),
  url: Type.String(),
  request_headers: Type.Record(Type.String(), Type.String(), { description: 'As sent, with credentials redacted.' }),
  response_status: Nullable(Type.Integer()),
  response_body: Nullable(Type.String()),
  error: Nullable(Type.String()),
});

export const PageMeta = Type.Object({ next_cursor: Nullable(Type.String()) });
