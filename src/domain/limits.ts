import { HeraldError } from './errors.js';

/**
 * Bounds on what one organization's request may cost everyone (config.limits). Each error
 * names the limit, its setting and, where known, the count that exceeded it.
 */

export function tooManyDeliveries(count: number, limit: number, pointer: string): HeraldError {
  return new HeraldError(400, [
    {
      code: 'invalid',
      detail:
        `This request would create ${count} deliveries (its events × their active subscriptions); ` +
        `at most ${limit} deliveries per request are allowed (HERALD_MAX_DELIVERIES_PER_REQUEST). ` +
        'Send the events in smaller batches.',
      pointer,
    },
  ]);
}

export function capReached(what: 'connections' | 'subscriptions', limit: number): HeraldError {
  const setting = what === 'connections' ? 'HERALD_MAX_CONNECTIONS_PER_ORG' : 'HERALD_MAX_SUBSCRIPTIONS_PER_ORG';
  return new HeraldError(400, [
    {
      code: 'non_field_errors',
      detail: `This organization already has ${limit} ${what}, the most allowed (${setting}); delete one first.`,
      pointer: '',
    },
  ]);
}

export function idempotencyKeyReused(key: string): HeraldError {
  return new HeraldError(409, [
    {
      code: 'invalid',
      detail:
        `Idempotency-Key "${key}" was already used with a different request (within 24 h); ` +
        'a repeat must send the same body to the same endpoint, or use a new key.',
      header: 'Idempotency-Key',
    },
  ]);
}
