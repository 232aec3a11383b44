import { createHmac } from 'node:crypto';

/**
 * `webhook-id` of a delivery: stable across its retries and across worker processes that
 * share the installation's key, yet unique per installation (two Heralds never collide on
 * a receiver that deduplicates).
 */
export function messageIdFactory(key: Buffer): (deliveryId: number) => string {
  const idKey = createHmac('sha256', key).update('herald:webhook-id').digest();
  return (deliveryId) =>
    `msg_${createHmac('sha256', idKey).update(String(deliveryId)).digest('base64url').slice(0, 24)}`;
}
