import type { Generated, Insertable, Selectable } from 'kysely';

/**
 * Tables as both dialects see them. Times are epoch milliseconds and booleans are 0/1 in
 * both, so every query reads the same on SQLite and PostgreSQL; JSON is kept as text.
 */
export interface Database {
  organizations: OrganizationsTable;
  api_keys: ApiKeysTable;
  access_tokens: AccessTokensTable;
  connections: ConnectionsTable;
  subscriptions: SubscriptionsTable;
  events: EventsTable;
  idempotency_keys: IdempotencyKeysTable;
  deliveries: DeliveriesTable;
  attempts: AttemptsTable;
  oauth_states: OauthStatesTable;
  installation: InstallationTable;
  delivery_outcomes: DeliveryOutcomesTable;
  portal_sessions: PortalSessionsTable;
  connection_outcomes: ConnectionOutcomesTable;
}

export interface OrganizationsTable {
  id: Generated<number>;
  name: string;
  /** The platform's own id of the customer; unique when set. */
  external_id: string | null;
  status: OrganizationStatus;
  created_at: number;
  updated_at: number;
}

/**
 * `suspended`: its keys answer 401 and its deliveries wait (parked) until it is active again.
 * `deleting`: its rows are being removed in batches; to everyone else it no longer exists.
 */
export type OrganizationStatus = 'active' | 'suspended' | 'deleting';

export interface ApiKeysTable {
  id: Generated<number>;
  organization_id: number;
  public_key: string;
  secret_hash: string;
  description: string | null;
  /** After it, the key (and every token minted with it) answers 401; null: never. */
  expires_at: number | null;
  /** Written at most once a minute per key (domain/auth.ts). */
  last_used_at: number | null;
  created_at: number;
}

export interface AccessTokensTable {
  token_hash: string;
  api_key_id: number;
  organization_id: number;
  expires_at: number;
}

export interface ConnectionsTable {
  id: Generated<number>;
  organization_id: number;
  type: string;
  /** Public configuration as JSON (never a secret). */
  config: string;
  /** Sealed JSON of `auth_config`. */
  auth_sealed: string | null;
  signature_scheme: string;
  signing_secret_sealed: string;
  /** Before migration 0005 only: one rotated-out secret (read, never written). */
  previous_secret_sealed: string | null;
  /** Sealed JSON list of rotated-out secrets still valid: `[{secret, expires_at}]`, newest first. */
  previous_secrets_sealed: string | null;
  /** The earliest `expires_at` of a rotated-out secret still valid (the delivery cache compares it). */
  previous_secret_expires_at: number | null;
  /** Sealed JSON of the `extra_headers` values; `config` keeps only their names. */
  extra_headers_sealed: string | null;
  status: string;
  status_reason: string | null;
  /** Sealed JSON of OAuth tokens (Klaviyo). */
  oauth_sealed: string | null;
  token_expires_at: number | null;
  /** SendKit dialect: `_id`, `name`, `createdBy`. */
  public_id: string | null;
  name: string | null;
  created_by: string | null;
  delivered_count: Generated<number>;
  failed_count: Generated<number>;
  last_delivered_at: number | null;
  created_at: number;
  updated_at: number;
  /** Endpoint health (migration 0008): `active`, `failing` (circuit open) or `disabled`. */
  health: Generated<ConnectionHealth>;
  health_reason: string | null;
  consecutive_failures: Generated<number>;
  /** The first failure of the current streak (null while the last attempt succeeded). */
  failing_since: number | null;
  last_success_at: number | null;
  last_failure_at: number | null;
  last_attempt_status: number | null;
  last_attempt_error: string | null;
  disabled_at: number | null;
  /** While failing: when the next probe may go out, and how long the wait after it is. */
  probe_at: number | null;
  probe_interval_ms: number | null;
  /** The delivery chosen as the current probe: the only one of a failing connection sent. */
  probe_delivery_id: number | null;
  /** Deliveries ended `failed` since the last `herald.delivery.exhausted`. */
  exhausted_count: Generated<number>;
  /** When the last herald.delivery.exhausted went out (0: never). */
  exhausted_reported_at: Generated<number>;
  /** 1: the circuit closed or the connection was enabled, and its parked deliveries are let go in batches. */
  release_backlog: Generated<number>;
}

export type ConnectionHealth = 'active' | 'failing' | 'disabled';

export interface SubscriptionsTable {
  id: Generated<number>;
  organization_id: number;
  connection_id: number;
  event_type: string;
  is_active: number;
  status_reason: string | null;
  created_at: number;
  updated_at: number;
}

export interface EventsTable {
  id: Generated<number>;
  organization_id: number;
  event_type: string;
  /** The body delivered to webhooks, exactly as sent. */
  payload: string;
  profile: string | null;
  delivery_count: number;
  created_at: number;
}

export interface IdempotencyKeysTable {
  organization_id: number;
  key: string;
  response: string;
  created_at: number;
  /** SHA-256 of the request the key was first used with (null: stored before migration 0006). */
  request_hash: string | null;
}

export interface DeliveriesTable {
  id: Generated<number>;
  organization_id: number;
  event_id: number;
  subscription_id: number;
  connection_id: number;
  status: DeliveryStatus;
  attempt_count: number;
  /** When due; while a worker holds it, the end of its lease (and the fencing token). */
  next_attempt_at: number;
  last_status: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  /** 1 while a worker holds it: `next_attempt_at` is then the end of that lease. */
  leased: Generated<number>;
}

/** `parked`: waiting for its subscription to be active again (not due, not attempted). */
export type DeliveryStatus = 'pending' | 'succeeded' | 'failed' | 'parked';

export interface AttemptsTable {
  id: Generated<number>;
  organization_id: number;
  delivery_id: number | null;
  subscription_id: number;
  connection_id: number;
  number: number;
  is_test: number;
  started_at: number;
  duration_ms: number;
  url: string;
  request_headers: string;
  response_status: number | null;
  response_body: string | null;
  error: string | null;
}

export interface OauthStatesTable {
  state_hash: string;
  organization_id: number;
  connection_id: number;
  verifier_sealed: string;
  expires_at: number;
  used_at: number | null;
}

/** One row (id 1): what ties this database to its secret key (see src/security/installation.ts). */
export interface InstallationTable {
  id: number;
  /** Random per database: never the same for two databases, whatever their keys. */
  installation_id: string;
  /** Salt of the key derivation (scrypt for passphrases, HKDF for every key). */
  kdf_salt: string;
  /** JSON `[{kid, check}]`: the keys sealed values may be under; a process must hold them all. */
  keys: string;
  /** The key new values are sealed under. */
  primary_kid: string;
  /** Sealed random secret `webhook-id`s are derived from. */
  webhook_id_salt_sealed: string;
  created_at: number;
  updated_at: number;
}

/** Deliveries finished per minute, for the admin stats; one row per process shard (no hot row between processes). */
export interface DeliveryOutcomesTable {
  /** Start of the minute, epoch ms. */
  minute: number;
  shard: number;
  succeeded: number;
  failed: number;
}

/** A portal session (migration 0009): hashes only, capabilities and theme as JSON text. */
export interface PortalSessionsTable {
  id: Generated<number>;
  organization_id: number;
  token_hash: string;
  session_hash: string | null;
  capabilities: string;
  theme: string;
  created_at: number;
  signed_in_at: number | null;
  expires_at: number;
}

export interface ConnectionOutcomesTable {
  connection_id: number;
  /** Start of the hour, epoch ms. */
  hour: number;
  succeeded: number;
  failed: number;
}

export type OrganizationRow = Selectable<OrganizationsTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type ConnectionRow = Selectable<ConnectionsTable>;
export type SubscriptionRow = Selectable<SubscriptionsTable>;
export type EventRow = Selectable<EventsTable>;
export type DeliveryRow = Selectable<DeliveriesTable>;
export type AttemptRow = Selectable<AttemptsTable>;
export type NewAttempt = Insertable<AttemptsTable>;
