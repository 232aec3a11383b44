import { check, compile } from '../../domain/validation.js';
import type { Connector, DeliveryJob, Outcome, StoredConfig } from '../connector.js';

const validateShape = compile({ type: 'object', additionalProperties: false, properties: {} });

/**
 * Klaviyo connections hold no configuration of their own: the account is linked by OAuth2
 * (the authorization endpoints) and events go to Klaviyo's Events API.
 */
export class KlaviyoConnector implements Connector {
  readonly type = 'klaviyo';
  readonly initialStatus = 'pending_authorization';

  prepare(input: unknown): StoredConfig {
    check(validateShape, input);
    return { config: {}, auth: null };
  }

  publicConfig(): Record<string, unknown> {
    return {};
  }

  limits() {
    return { retryAttempts: 5, timeoutMs: 10_000 };
  }

  async deliver(_job: DeliveryJob): Promise<Outcome> {
    return {
      ok: false,
      status: null,
      body: null,
      error: 'the Klaviyo account is not authorized',
      permanent: 'the Klaviyo account is not authorized',
      url: 'klaviyo:',
      requestHeaders: {},
      startedAt: Date.now(),
      durationMs: 0,
    };
  }
}
