import type { Store } from '../store/store.js';
import type { OperationalType } from './event-types/operational.js';
import { newDelivery } from './ingest-commit.js';

/** The operator's organization (HERALD_OPERATOR_WEBHOOK_URL), when one is configured. */
export interface OperatorTarget {
  organizationId: number;
}

/**
 * Writes one operational event, inside the caller's transaction (the one that made the
 * transition it reports, so a transition and its event commit together: exactly one each):
 * to the organization's active subscriptions of the type, except those of the connection
 * it is about, and a copy to the operator's organization. Where nobody subscribed nothing is
 * written: the transition itself is on the connection (status, status_reason, the log line).
 */
export async function writeOperationalEvent(
  tx: Store,
  event: { organizationId: number; connectionId: number; type: OperationalType; data: Record<string, unknown> },
  operator: OperatorTarget | undefined,
  now: number,
): Promise<void> {
  const payload = JSON.stringify({ event_type: event.type, data: event.data });
  const targets = [event.organizationId];
  if (operator && operator.organizationId !== event.organizationId) targets.push(operator.organizationId);
  let created = 0;
  for (const organizationId of targets) {
    const subscribers = (await tx.subscriptions.active(organizationId, event.type)).filter(
      (s) => s.connection_id !== event.connectionId,
    );
    // Nobody subscribed: no event row (the tenant's event log holds what was delivered to it).
    if (subscribers.length === 0) continue;
    const [eventId] = await tx.events.insertMany([
      { organization_id: organizationId, event_type: event.type, payload, profile: null, delivery_count: subscribers.length, created_at: now },
    ]);
    await tx.deliveries.insertMany(subscribers.map((s) => newDelivery(organizationId, eventId as number, s, now)));
    created += subscribers.length;
  }
  if (created > 0) await tx.signalDue();
}
