import type { ConnectionService } from './connections.js';
import type { SubscriptionService } from './subscriptions.js';
import { OPERATIONAL_TYPES } from './event-types/operational.js';
import type { OperatorTarget } from './operational-events.js';
import { lockOrganizationCaps } from '../store/organization-caps.js';
import type { Store } from '../store/store.js';

/** The organization (its name and external id) that holds the operator's webhook (HERALD_OPERATOR_WEBHOOK_URL). */
export const OPERATOR_ORGANIZATION = 'herald-operator';

/**
 * The operator's webhook is an ordinary connection of its own organization, subscribed to
 * every operational type, so its events are signed, retried and logged like any other.
 * Brought in line with the variables at start: URL and secret as configured.
 */
export async function ensureOperatorWebhook(
  store: Store,
  connections: ConnectionService,
  subscriptions: SubscriptionService,
  webhook: { url: string; secret: string },
  now: number,
): Promise<OperatorTarget> {
  const organizationId = await operatorOrganization(store, now);
  // Under the organization's lock: workers starting together on PostgreSQL make one webhook.
  await store.transaction(async (tx) => {
    await lockOrganizationCaps(tx, organizationId);
    let connection = (await tx.connections.list(organizationId, 'webhook'))[0];
    if (!connection) {
      const configuration = { url: webhook.url, auth_type: 'none' };
      connection = await connections.create(organizationId, 'webhook', configuration, { signingSecret: webhook.secret }, tx);
    } else if ((JSON.parse(connection.config) as { url?: string }).url !== webhook.url || connections.signingSecret(connection) !== webhook.secret) {
      const patch = { configuration: { url: webhook.url } };
      connection = await connections.update(organizationId, connection.id, patch, { signingSecret: webhook.secret }, tx);
    }
    const have = new Set((await tx.subscriptions.list(organizationId, { connectionId: connection.id })).map((s) => s.event_type));
    for (const type of Object.keys(OPERATIONAL_TYPES)) {
      if (!have.has(type)) await subscriptions.create(organizationId, { connection_id: connection.id, event_type: type, is_active: true }, tx);
    }
  });
  return { organizationId };
}

/** The operator's organization, by its external id (unique): made once, found after. */
async function operatorOrganization(store: Store, now: number): Promise<number> {
  const find = async () => (await store.organizations.page({ externalId: OPERATOR_ORGANIZATION }, 0, 1))[0]?.id;
  const found = await find();
  if (found !== undefined) return found;
  try {
    return (await store.organizations.insert({ name: OPERATOR_ORGANIZATION, external_id: OPERATOR_ORGANIZATION, now })).id;
  } catch (error) {
    // Another process made it first (the external id is unique).
    const made = await find();
    if (made === undefined) throw error;
    return made;
  }
}
