import { Type } from '@sinclair/typebox';
import { MAX_KEY_DESCRIPTION } from '../../domain/api-keys.js';
import { MAX_EXTERNAL_ID, MAX_ORGANIZATION_NAME } from '../../domain/organizations.js';
import { ErrorsBody, Timestamp } from '../v3/schemas.js';

export const tags = ['Admin'];
export const security: { [scheme: string]: string[] }[] = [{ AdminToken: [] }];

const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);

export const OrganizationId = Type.Object({ id: Type.String({ pattern: '^[1-9][0-9]{0,15}$' }) });
export const KeyParams = Type.Object({
  id: Type.String({ pattern: '^[1-9][0-9]{0,15}$' }),
  key_id: Type.String({ pattern: '^[1-9][0-9]{0,15}$' }),
});

export const Organization = Type.Object({
  id: Type.Integer({ minimum: 1 }),
  name: Type.String(),
  external_id: Nullable(Type.String({ description: "The platform's own id of the customer; unique." })),
  status: Type.String({ enum: ['active', 'suspended'] }),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const OrganizationCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: MAX_ORGANIZATION_NAME }),
    external_id: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: MAX_EXTERNAL_ID }))),
  },
  { additionalProperties: false },
);

export const OrganizationPatch = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_ORGANIZATION_NAME })),
    status: Type.Optional(
      Type.String({
        enum: ['active', 'suspended'],
        description: 'suspended: its keys and tokens answer 401 and its deliveries wait; active again: they resume.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const ApiKey = Type.Object({
  id: Type.Integer({ minimum: 1 }),
  public_key: Type.String(),
  description: Nullable(Type.String()),
  created_at: Timestamp,
  expires_at: Nullable(Timestamp),
  last_used_at: Nullable(Type.String({ format: 'date-time', description: 'Updated at most once a minute.' })),
});

export const IssuedApiKey = Type.Object({
  ...ApiKey.properties,
  secret_key: Type.String({ description: 'Shown in this answer only; Herald keeps a hash.' }),
});

export const ApiKeyCreate = Type.Object(
  {
    description: Type.Optional(Nullable(Type.String({ maxLength: MAX_KEY_DESCRIPTION }))),
    expires_at: Type.Optional(Nullable(Type.String({ format: 'date-time', description: 'ISO 8601, in the future.' }))),
  },
  { additionalProperties: false },
);

export const Stats = Type.Object({
  organizations: Type.Integer(),
  connections: Type.Integer(),
  pending_deliveries: Type.Integer({ description: 'Counted up to 1,000,000 (that value means "at least").' }),
  parked_deliveries: Type.Integer({ description: 'Waiting for a paused subscription or a suspended organization.' }),
  oldest_pending_age_seconds: Type.Number({ description: 'How long the most overdue pending delivery has been due.' }),
  succeeded_last_hour: Type.Integer(),
  failed_last_hour: Type.Integer(),
  generated_at: Timestamp,
});

export const PageMeta = Type.Object({ next_cursor: Type.Union([Type.String(), Type.Null()]) });

export const adminErrors = { 400: ErrorsBody, 401: ErrorsBody, 404: ErrorsBody };
