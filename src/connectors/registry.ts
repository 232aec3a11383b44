import type { Connector } from './connector.js';
import type { HttpClient } from './http-client.js';
import type { KlaviyoConnector } from './klaviyo/klaviyo-connector.js';
import type { WebhookLimits } from './webhook/config.js';
import { WebhookConnector } from './webhook/webhook-connector.js';

export const CONNECTION_TYPES = ['webhook', 'klaviyo'] as const;
export type ConnectionType = (typeof CONNECTION_TYPES)[number];

export class ConnectorRegistry {
  readonly #byType = new Map<string, Connector>();

  constructor(connectors: Connector[]) {
    for (const c of connectors) this.#byType.set(c.type, c);
  }

  get(type: string): Connector {
    const connector = this.#byType.get(type);
    if (!connector) throw new Error(`no connector for type "${type}"`);
    return connector;
  }
}

export function createConnectors(http: HttpClient, klaviyo: KlaviyoConnector, webhookLimits?: WebhookLimits): ConnectorRegistry {
  return new ConnectorRegistry([new WebhookConnector(http, webhookLimits), klaviyo]);
}
