import { hash } from 'node:crypto';

/**
 * `webhook-id` of a delivery: stable across its retries, across worker processes and across
 * key rotations, and unique per database. `salt` is the installation's random secret
 * (security/installation.ts), so a fresh database whose delivery ids start again at 1 never
 * repeats an id a receiver has seen, even with the same HERALD_SECRET_KEY. A hash of that
 * secret and the delivery id: the one-shot `hash()` costs ~1 µs where an HMAC per delivery cost ~4 µs.
 */
export function messageIdFactory(salt: string): (deliveryId: number) => string {
  return (deliveryId) => `msg_${hash('sha256', `${salt}:${deliveryId}`, 'base64url').slice(0, 24)}`;
}
