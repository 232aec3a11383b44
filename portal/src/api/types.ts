import type { Paths } from './client';

type Ok<P extends keyof Paths, M extends keyof Paths[P]> = Paths[P][M] extends {
  responses: infer R;
}
  ? R extends { 200: { content: { 'application/json': infer B } } }
    ? B
    : R extends { 201: { content: { 'application/json': infer B } } }
      ? B
      : R extends { 202: { content: { 'application/json': infer B } } }
        ? B
        : never
  : never;

type DataOf<T> = T extends { data: infer D } ? D : never;

/** Resources as the API documents them: derived from the generated types, never written by hand. */
export type Session = DataOf<Ok<'/portal/api/session', 'get'>>;
export type Capability = Session['capabilities'][number];
export type Theme = Session['theme'];
export type Connection = DataOf<Ok<'/api/v3/event-subscriptions/connections/{id}', 'get'>>;
export type ConnectionTotals = DataOf<Ok<'/api/v3/event-subscriptions/connections/activity', 'get'>>[number];
export type Activity = DataOf<Ok<'/api/v3/event-subscriptions/connections/{id}/activity', 'get'>>;
export type Subscription = DataOf<Ok<'/api/v3/event-subscriptions/subscriptions/{id}', 'get'>>;
export type EventType = DataOf<Ok<'/api/v3/event-subscriptions/event-types', 'get'>>[number];
export type Delivery = DataOf<Ok<'/api/v3/event-subscriptions/deliveries', 'get'>>[number];
export type DeliveryDetail = DataOf<Ok<'/api/v3/event-subscriptions/deliveries/{id}', 'get'>>;
export type Attempt = DeliveryDetail['attempts'][number];
export type TestResult = DataOf<Ok<'/api/v3/event-subscriptions/broadcast/test/{subscription_id}', 'post'>>;
export type DeliveryQuery = NonNullable<Paths['/api/v3/event-subscriptions/deliveries']['get']['parameters']['query']>;

/** A webhook connection's configuration (the API documents it as an open object). */
export interface WebhookConfiguration {
  [key: string]: unknown;
  url?: string;
  auth_type?: AuthType;
  auth_config?: Record<string, string>;
  extra_headers?: Record<string, string>;
  retry_attempts?: number;
  timeout_ms?: number;
}
export type AuthType = 'none' | 'bearer' | 'basic' | 'api_key';
export type EventTypeName = Subscription['event_type'];
