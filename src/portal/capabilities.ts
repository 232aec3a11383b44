import type { Capability } from '../domain/portal-sessions.js';

const V3 = '/api/v3/event-subscriptions';

/**
 * What a portal session needs for each v3 route it may call, by method and route pattern.
 * Reads need `view` (always granted) unless listed; a write not listed here is refused to
 * every portal session (publishing events, for one, is the platform's job, not its
 * customer's), so a route added later is closed to the portal until it is placed here.
 */
const NEEDS: Record<string, Capability> = {
  [`GET ${V3}/connections/:id/secret`]: 'view_secrets',
  [`POST ${V3}/connections/:id/secret/rotate`]: 'manage_secrets',

  [`POST ${V3}/connections`]: 'manage_connections',
  [`PATCH ${V3}/connections/:id`]: 'manage_connections',
  [`DELETE ${V3}/connections/:id`]: 'manage_connections',
  [`POST ${V3}/connections/:id/disable`]: 'manage_connections',
  [`POST ${V3}/connections/:id/enable`]: 'manage_connections',
  [`POST ${V3}/connections/:id/authorization`]: 'manage_connections',
  [`POST ${V3}/subscriptions`]: 'manage_connections',
  [`PATCH ${V3}/subscriptions/:id`]: 'manage_connections',
  [`DELETE ${V3}/subscriptions/:id`]: 'manage_connections',
  // A test goes to the customer's own endpoint; it is part of setting the endpoint up.
  [`POST ${V3}/broadcast/test/:subscription_id`]: 'manage_connections',

  [`POST ${V3}/deliveries/:id/retry`]: 'retry',
  [`POST ${V3}/subscriptions/:id/recover`]: 'retry',
};

export const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The capability a route needs, or null when no portal session may call it. */
export function capabilityFor(method: string, routeUrl: string): Capability | null {
  const needed = NEEDS[`${method} ${routeUrl}`];
  if (needed) return needed;
  return SAFE_METHODS.has(method) ? 'view' : null;
}
