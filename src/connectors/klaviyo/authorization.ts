import type { Logger } from 'pino';
import { HeraldError, notFound } from '../../domain/errors.js';
import type { SealedAt, Sealer } from '../../security/sealer.js';
import type { Store } from '../../store/store.js';
import type { CallbackResult } from './callback-page.js';
import { type Grant, sealGrant } from './grant.js';
import type { IssuedTokens, KlaviyoOAuthClient } from './oauth-client.js';
import { challengeOf, hashState, newState, newVerifier } from './pkce.js';
import { KLAVIYO_SCOPES, type KlaviyoSettings, missingClientSettings, redirectUri } from './settings.js';

/** How long an authorization link may take, from start to callback. */
export const STATE_TTL_MS = 10 * 60_000;

const RETRY = 'Nothing was changed; start the authorization again to retry.';

/** The page's text for the OAuth2 `error` codes of RFC 6749 §4.1.2.1 that a person can act on. */
const DENIED = new Map<string, string>([
  ['access_denied', 'You declined to give Herald access to your Klaviyo account.'],
  ['server_error', 'Klaviyo could not complete the authorization because of a problem on its side.'],
  ['temporarily_unavailable', 'Klaviyo is temporarily unable to complete the authorization.'],
]);
const DENIED_OTHERWISE = 'Klaviyo did not grant access.';

/**
 * The OAuth2 authorization-code flow with PKCE that links a Klaviyo account to a connection.
 * `start` hands out Klaviyo's consent URL; `callback` is where the browser comes back.
 */
export class KlaviyoAuthorization {
  constructor(
    private readonly store: Store,
    private readonly sealer: Sealer,
    private readonly oauth: KlaviyoOAuthClient,
    private readonly settings: KlaviyoSettings,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The consent URL. Its `state` is random, single-use and bound to this connection and
   * organization; only its hash is stored, with the PKCE verifier sealed beside it.
   */
  async start(organizationId: number, connectionId: number): Promise<string> {
    const row = await this.store.connections.get(organizationId, connectionId);
    if (!row) throw notFound();
    if (row.type !== 'klaviyo') {
      throw new HeraldError(400, [
        { code: 'invalid', detail: `A ${row.type} connection has no OAuth2 authorization; only klaviyo connections do.` },
      ]);
    }
    const missing = missingClientSettings(this.settings);
    if (missing.length > 0) {
      throw new HeraldError(503, [
        { code: 'invalid', detail: `Klaviyo authorization is not configured on this server: set ${missing.join(' and ')}.` },
      ]);
    }
    const state = newState();
    const verifier = newVerifier();
    const stateHash = hashState(state);
    await this.store.oauthStates.insert({
      state_hash: stateHash,
      organization_id: organizationId,
      connection_id: row.id,
      verifier_sealed: this.sealer.seal(verifier, verifierAt(stateHash)),
      expires_at: this.now() + STATE_TTL_MS,
    });
    const url = new URL(this.settings.authorizeUrl);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('client_id', this.settings.clientId as string);
    url.searchParams.set('redirect_uri', redirectUri(this.settings));
    url.searchParams.set('scope', KLAVIYO_SCOPES.join(' '));
    url.searchParams.set('state', state);
    url.searchParams.set('code_challenge', challengeOf(verifier));
    url.searchParams.set('code_challenge_method', 'S256');
    return url.toString();
  }

  /**
   * Checks the state, exchanges the code and stores the tokens sealed. Every failure leaves
   * the connection as it was and says why; only a state that reached Klaviyo is used up.
   */
  async callback(query: Record<string, unknown>): Promise<CallbackResult> {
    const param = (name: string) => (typeof query[name] === 'string' ? (query[name] as string) : undefined);
    const denied = param('error');
    // Anyone can craft this link: the page says only what Herald wrote for the error code,
    // never text from the query string (error_description could carry a phishing message).
    if (denied !== undefined) return failed(400, `${DENIED.get(denied) ?? DENIED_OTHERWISE} ${RETRY}`);
    const state = param('state');
    const code = param('code');
    if (!state || !code) return failed(400, `The link is missing its code or state. ${RETRY}`);
    const hash = hashState(state);
    const found = await this.store.oauthStates.find(hash);
    const now = this.now();
    if (!found) return failed(400, `This authorization link is not valid. ${RETRY}`);
    if (found.used_at !== null) return failed(400, `This authorization link was already used. ${RETRY}`);
    if (found.expires_at <= now) {
      return failed(400, `This authorization link expired (links are valid for 10 minutes). ${RETRY}`);
    }
    if (!(await this.store.oauthStates.consume(hash, now))) {
      return failed(400, `This authorization link was already used. ${RETRY}`);
    }
    const row = await this.store.connections.get(found.organization_id, found.connection_id);
    if (!row) return failed(404, 'The connection no longer exists.');

    let issued: IssuedTokens;
    try {
      issued = await this.oauth.exchangeCode(code, this.sealer.open(found.verifier_sealed, verifierAt(hash)), redirectUri(this.settings));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.logger.warn({ connection_id: row.id, reason: message }, 'exchanging the Klaviyo authorization code failed');
      return failed(400, `Klaviyo did not accept the authorization (${message}). ${RETRY}`);
    }
    if (issued.refreshToken === undefined) {
      return failed(400, `Klaviyo answered without a refresh token. ${RETRY}`);
    }
    const at = this.now();
    const grant: Grant = {
      access_token: issued.accessToken,
      refresh_token: issued.refreshToken,
      issued_at: at,
      expires_at: at + issued.expiresInMs,
    };
    // Unconditional: a refresh in flight elsewhere loses its fence and adopts this grant.
    await this.store.connections.update(row.id, {
      oauth_sealed: sealGrant(this.sealer, row.id, grant),
      token_expires_at: grant.expires_at,
      status: 'active',
      status_reason: null,
      updated_at: Math.max(at, row.updated_at + 1),
    });
    this.logger.info({ connection_id: row.id, organization_id: row.organization_id }, 'Klaviyo account connected');
    return {
      status: 200,
      connected: true,
      message: `Herald will now deliver events to Klaviyo for connection ${row.id}. You can close this window.`,
    };
  }
}

/** The PKCE verifier is bound to its state's row. */
function verifierAt(stateHash: string): SealedAt {
  return { table: 'oauth_states', column: 'verifier_sealed', row: stateHash };
}

function failed(status: number, message: string): CallbackResult {
  return { status, connected: false, message };
}
