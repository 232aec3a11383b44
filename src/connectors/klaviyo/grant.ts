import { connectionColumn } from '../../security/sealed-columns.js';
import type { Sealer } from '../../security/sealer.js';

/**
 * What a Klaviyo connection keeps in `oauth_sealed`, sealed as a whole. `refreshing_until`
 * is the refresh lease (see tokens.ts): it lives in the sealed value so that the sealed text
 * itself, which changes on every write, is the version a conditional UPDATE compares.
 */
export interface Grant {
  access_token: string;
  refresh_token: string;
  /** Epoch ms when the access token stops working. */
  expires_at: number;
  /** Epoch ms when it was issued: short-lived tokens are refreshed in their last quarter. */
  issued_at: number;
  refreshing_until?: number;
}

/** Sealed bound to the connection's row: a grant copied into another connection does not open. */
export function sealGrant(sealer: Sealer, connectionId: number, grant: Grant): string {
  return sealer.sealJson(grant, connectionColumn('oauth_sealed', connectionId));
}

export function openGrant(sealer: Sealer, connectionId: number, sealed: string): Grant {
  return sealer.openJson<Grant>(sealed, connectionColumn('oauth_sealed', connectionId));
}
