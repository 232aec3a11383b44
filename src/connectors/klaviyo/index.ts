import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import type { Sealer } from '../../security/sealer.js';
import type { Store } from '../../store/store.js';
import type { HttpClient } from '../http-client.js';
import { KlaviyoAuthorization } from './authorization.js';
import { KlaviyoConnector } from './klaviyo-connector.js';
import { KlaviyoOAuthClient } from './oauth-client.js';
import { KlaviyoTokens } from './tokens.js';

export interface Klaviyo {
  connector: KlaviyoConnector;
  authorization: KlaviyoAuthorization;
}

/** The Klaviyo pieces share one OAuth client and one token cache per process. */
export function createKlaviyo(deps: {
  config: Config;
  http: HttpClient;
  store: Store;
  sealer: Sealer;
  logger: Logger;
}): Klaviyo {
  const { config, http, store, sealer, logger } = deps;
  const oauth = new KlaviyoOAuthClient(http, config.klaviyo);
  const tokens = new KlaviyoTokens(store, sealer, oauth, logger);
  return {
    connector: new KlaviyoConnector(http, tokens, config.klaviyo.apiUrl),
    authorization: new KlaviyoAuthorization(store, sealer, oauth, { ...config.klaviyo, publicUrl: config.publicUrl }, logger),
  };
}
