/**
 * Operational events: produced by Herald itself about an organization's connections
 * (domain/connection-health.ts), delivered like any other event to the organization's
 * subscriptions of these types and to the operator's webhook. Platforms cannot publish them.
 */

export const OPERATIONAL_PREFIX = 'herald.';

export const OPERATIONAL_TYPES = {
  'herald.connection.failing': 'A connection\'s circuit opened: its endpoint failed too many times in a row; only probes go out.',
  'herald.connection.recovered': 'A probe succeeded: the circuit closed and the waiting deliveries go out.',
  'herald.connection.disabled': 'A connection was disabled (automatically after failing for too long, or by hand); its deliveries wait.',
  'herald.connection.enabled': 'A disabled connection was enabled again.',
  'herald.delivery.exhausted': 'Deliveries of a connection ended failed (at most one such event per connection per hour, with the count).',
} as const;

export type OperationalType = keyof typeof OPERATIONAL_TYPES;

const isoOrNull = { type: ['string', 'null'], format: 'date-time' };

export const operationalData = {
  type: 'object',
  required: ['organization_id', 'connection_id', 'status', 'reason', 'failing_since', 'last_attempt', 'occurred_at'],
  properties: {
    organization_id: { type: 'integer' },
    connection_id: { type: 'integer' },
    status: { type: 'string', enum: ['active', 'failing', 'disabled'] },
    reason: { type: ['string', 'null'] },
    failing_since: isoOrNull,
    consecutive_failures: { type: 'integer' },
    last_attempt: {
      type: ['object', 'null'],
      properties: {
        status_code: { type: ['integer', 'null'] },
        error: { type: ['string', 'null'] },
        at: isoOrNull,
      },
    },
    trigger: { type: 'string', enum: ['automatic', 'manual'], description: 'herald.connection.disabled and enabled only' },
    count: { type: 'integer', description: 'herald.delivery.exhausted only: deliveries ended failed since the last such event' },
    occurred_at: { type: 'string', format: 'date-time' },
  },
} as const;

export function operationalSample(type: OperationalType): Record<string, unknown> {
  const failing = type === 'herald.connection.failing' || type === 'herald.delivery.exhausted';
  return {
    organization_id: 1,
    connection_id: 42,
    status: type === 'herald.connection.disabled' ? 'disabled' : failing ? 'failing' : 'active',
    reason: type === 'herald.connection.recovered' || type === 'herald.connection.enabled' ? null : '20 consecutive failed attempts',
    failing_since: failing || type === 'herald.connection.disabled' ? '2026-12-01T10:00:00Z' : null,
    consecutive_failures: failing ? 20 : 0,
    last_attempt: { status_code: 503, error: 'HTTP 503', at: '2026-12-01T10:05:00Z' },
    ...(type === 'herald.connection.disabled' || type === 'herald.connection.enabled' ? { trigger: 'automatic' } : {}),
    ...(type === 'herald.delivery.exhausted' ? { count: 3 } : {}),
    occurred_at: '2026-12-01T10:05:00Z',
  };
}
