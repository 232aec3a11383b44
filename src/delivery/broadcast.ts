import { randomBytes } from 'node:crypto';
import type { ConnectionService } from '../domain/connections.js';
import { notFound } from '../domain/errors.js';
import type { EventTypeCatalog } from '../domain/event-types/catalog.js';
import type { Store } from '../store/store.js';
import { attemptRow } from './attempt-row.js';

export interface BroadcastResult {
  success: boolean;
  /** 0 when no HTTP answer was received (refused, timed out, blocked). */
  status_code: number;
  response_body: string;
}

/** A profile for test events, so that profile-based connectors (Klaviyo) can be tested too. */
export const TEST_PROFILE = { email: 'herald-test@example.com' };

/**
 * Sends the event type's sample through a subscription's connection once, synchronously,
 * with the same auth, headers and signature as a real delivery, and logs it as a test.
 */
export class BroadcastService {
  constructor(
    private readonly store: Store,
    private readonly connections: ConnectionService,
    private readonly catalog: EventTypeCatalog,
  ) {}

  async test(organizationId: number, subscriptionId: number, eventTypeOverride?: string): Promise<BroadcastResult> {
    const subscription = await this.store.subscriptions.get(organizationId, subscriptionId);
    if (!subscription) throw notFound();
    const row = await this.connections.get(organizationId, subscription.connection_id);
    const eventType = eventTypeOverride ?? subscription.event_type;
    const sample = this.catalog.get(eventType)?.sample ?? {};
    const connection = this.connections.resolve(row);
    const outcome = await this.connections.connector(row.type).deliver({
      connection,
      messageId: `msg_test_${randomBytes(12).toString('base64url')}`,
      eventType,
      body: JSON.stringify({ event_type: eventType, data: sample }),
      profile: TEST_PROFILE,
      attempt: 1,
      isTest: true,
    });
    await this.store.attempts.insertMany([
      attemptRow(
        outcome,
        { organizationId, deliveryId: null, subscriptionId: subscription.id, connectionId: row.id },
        1,
      ),
    ]);
    return {
      success: outcome.ok,
      status_code: outcome.status ?? 0,
      response_body: outcome.body ?? outcome.error ?? '',
    };
  }
}
