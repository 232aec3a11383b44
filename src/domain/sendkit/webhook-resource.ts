import type { ConnectionRow, SubscriptionRow } from '../../store/schema.js';
import { isoMillis } from '../time.js';

export type WebhookStatus = 'active' | 'inactive' | 'disabled';

/** The SendKit webhook object, as `/v1/webhooks` answers it. */
export interface Webhook {
  _id: string;
  workspaceId: string;
  name: string;
  url: string;
  events: string[];
  secret: string;
  retryAttempts: number;
  timeoutMs: number;
  status: WebhookStatus;
  stats: { totalDelivered: number; totalFailed: number; lastDeliveredAt: string | null };
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

/** A workspace is a Herald organization; the prefix keeps SendKit's id style. */
export function workspaceId(organizationId: number): string {
  return `ws_${organizationId}`;
}

/**
 * After creation a secret is only hinted at: 4 characters tell two apart, yet of a 16-character
 * secret (the shortest allowed) leave 12 unknown, never enough to help guess it.
 */
export const SECRET_HINT_LENGTH = 4;

export function abbreviateSecret(secret: string): string {
  return `${secret.slice(0, SECRET_HINT_LENGTH)}...`;
}

/**
 * Renders a webhook connection and its subscriptions (oldest first). The status is derived
 * from the subscriptions, which are what routing reads: a webhook whose subscriptions were
 * all switched off (through v3, or by a 410 Gone) shows as inactive.
 */
export function toWebhook(row: ConnectionRow, subscriptions: SubscriptionRow[], secret: string): Webhook {
  const config = JSON.parse(row.config) as Record<string, unknown>;
  return {
    _id: row.public_id as string,
    workspaceId: workspaceId(row.organization_id),
    name: row.name ?? '',
    url: config.url as string,
    events: subscriptions.map((s) => s.event_type),
    secret,
    retryAttempts: config.retry_attempts as number,
    timeoutMs: config.timeout_ms as number,
    status: row.health === 'disabled' ? 'disabled' : subscriptions.some((s) => s.is_active === 1) ? 'active' : 'inactive',
    stats: {
      totalDelivered: Number(row.delivered_count),
      totalFailed: Number(row.failed_count),
      lastDeliveredAt: row.last_delivered_at === null ? null : isoMillis(row.last_delivered_at),
    },
    createdBy: row.created_by ?? 'api',
    createdAt: isoMillis(row.created_at),
    // The connection's time: every /v1 write bumps it (a v3 edit of one subscription does not).
    updatedAt: isoMillis(row.updated_at),
  };
}
