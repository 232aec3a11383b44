import type { ConnectionRow } from '../store/schema.js';

/**
 * A connection type is a plug-in behind this interface. Retry policy, leases, logging and
 * metrics live in delivery/, once, for every type; a connector makes exactly one attempt.
 */
export interface StoredConfig {
  /** Public configuration, as the API shows it. */
  config: Record<string, unknown>;
  /** Credentials, sealed at rest, never shown. */
  auth: Record<string, string> | null;
}

export type SignatureScheme = 'standard' | 'sendkit';

export interface ResolvedConnection {
  id: number;
  organizationId: number;
  type: string;
  updatedAt: number;
  config: Record<string, unknown>;
  auth: Record<string, string> | null;
  signatureScheme: SignatureScheme;
  /** Current secret first, then the previous one while it is still valid. */
  signingSecrets: string[];
  retryAttempts: number;
  timeoutMs: number;
  /** Keeps delivered/failed counters (SendKit webhooks show them as `stats`). */
  tracksStats: boolean;
}

export interface DeliveryJob {
  connection: ResolvedConnection;
  /** Standard Webhooks `webhook-id`: the same on every attempt of one delivery. */
  messageId: string;
  eventType: string;
  /** The event body, byte for byte as stored. */
  body: string;
  profile: Record<string, unknown> | null;
  attempt: number;
  isTest: boolean;
}

export interface Outcome {
  ok: boolean;
  status: number | null;
  body: string | null;
  error: string | null;
  url: string;
  requestHeaders: Record<string, string>;
  startedAt: number;
  durationMs: number;
  /** Wait at least this long before the next attempt (Retry-After). */
  retryAfterMs?: number;
  /** Do not retry: the reason. */
  permanent?: string;
  /** Deactivate the connection's subscriptions: the reason (410 Gone). */
  deactivate?: string;
}

export interface Connector {
  readonly type: string;
  /** The status a new connection of this type starts in. */
  readonly initialStatus: string;
  /**
   * Validates `configuration` (pointers relative to it) for a create, or a PATCH merged over
   * `existing`, and returns what to store. Throws HeraldError.
   */
  prepare(input: unknown, existing?: StoredConfig): StoredConfig;
  publicConfig(config: Record<string, unknown>): Record<string, unknown>;
  limits(config: Record<string, unknown>): { retryAttempts: number; timeoutMs: number };
  deliver(job: DeliveryJob): Promise<Outcome>;
  /** After the row is deleted (e.g. revoke OAuth tokens); best effort, must not throw. */
  onDelete?(row: ConnectionRow): Promise<void>;
}
