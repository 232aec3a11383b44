import type { Outcome } from '../connectors/connector.js';
import type { NewAttempt } from '../store/schema.js';

/** The attempt log's row for one outcome, real or test (`deliveryId` null). */
export function attemptRow(
  outcome: Outcome,
  ids: { organizationId: number; deliveryId: number | null; subscriptionId: number; connectionId: number },
  number: number,
): NewAttempt {
  return {
    organization_id: ids.organizationId,
    delivery_id: ids.deliveryId,
    subscription_id: ids.subscriptionId,
    connection_id: ids.connectionId,
    number,
    is_test: ids.deliveryId === null ? 1 : 0,
    started_at: outcome.startedAt,
    duration_ms: outcome.durationMs,
    url: outcome.url,
    request_headers: JSON.stringify(outcome.requestHeaders),
    response_status: outcome.status,
    response_body: outcome.body,
    error: outcome.error,
  };
}
