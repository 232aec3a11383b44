import type { Logger } from 'pino';
import type { Sealer } from '../../security/sealer.js';
import type { ConnectionRow } from '../../store/schema.js';
import type { Store } from '../../store/store.js';
import { type Grant, openGrant, sealGrant } from './grant.js';
import { type KlaviyoOAuthClient, TokenEndpointError } from './oauth-client.js';

/** Refresh this long before expiry (or in the last quarter of a shorter-lived token). */
const REFRESH_MARGIN_MS = 60_000;
/**
 * Twice the token request's 10 s timeout, so a live holder never loses its lease; short
 * enough that waiting out a crashed holder, refreshing and sending all fit in a delivery's
 * 60 s claim.
 */
const LEASE_MS = 20_000;
const POLL_MS = 100;

/** Deliveries cannot go out until someone authorizes the connection (again): do not retry. */
export class NotAuthorizedError extends Error {}

interface Cached {
  updatedAt: number;
  grant: Grant;
}

/**
 * Access tokens of Klaviyo connections, refreshed once per connection at a time across every
 * worker process. Klaviyo rotates refresh tokens, so two concurrent refreshes would lose the
 * grant: the second would present a token the first just invalidated.
 *
 * The database is the lock. A process that needs a refresh first swaps the sealed grant for
 * a copy carrying `refreshing_until` (a lease), conditional on the sealed text it read; only
 * one swap can win. The winner calls Klaviyo with no transaction open, then swaps in the new
 * tokens, again conditional on its own leased value (a fence: if the connection was
 * re-authorized meanwhile, the newer grant wins). The others keep using the current access
 * token while it still works, or poll the row until the new one appears. Within a process,
 * concurrent deliveries share one such refresh.
 */
export class KlaviyoTokens {
  readonly #cache = new Map<number, Cached>();
  readonly #inflight = new Map<number, Promise<string>>();

  constructor(
    private readonly store: Store,
    private readonly sealer: Sealer,
    private readonly oauth: KlaviyoOAuthClient,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * A working access token. `updatedAt` is the connection row's version as the caller saw it
   * (a re-authorization or a failure changes it); `rejected` is a token Klaviyo just answered
   * 401 to, which forces a refresh unless another process already replaced it.
   */
  async accessToken(connection: { id: number; updatedAt: number }, rejected?: string): Promise<string> {
    const cached = this.#cache.get(connection.id);
    if (cached && cached.updatedAt === connection.updatedAt && rejected === undefined && this.#fresh(cached.grant)) {
      return cached.grant.access_token;
    }
    for (;;) {
      const pending = this.#inflight.get(connection.id);
      if (!pending) break;
      const token = await pending.catch(() => undefined);
      if (token !== undefined && token !== rejected) return token;
    }
    const run = this.#fromDatabase(connection.id, rejected).finally(() => this.#inflight.delete(connection.id));
    this.#inflight.set(connection.id, run);
    return run;
  }

  /** Best-effort revocation when a connection is deleted; never throws. */
  async revoke(row: ConnectionRow): Promise<void> {
    this.#cache.delete(row.id);
    if (!row.oauth_sealed) return;
    try {
      await this.oauth.revoke(openGrant(this.sealer, row.id, row.oauth_sealed).refresh_token);
      this.logger.info({ connection_id: row.id }, 'revoked the Klaviyo tokens of a deleted connection');
    } catch (error) {
      this.logger.warn(
        { connection_id: row.id, reason: error instanceof Error ? error.message : String(error) },
        'could not revoke the Klaviyo tokens of a deleted connection; it is deleted anyway',
      );
    }
  }

  #fresh(grant: Grant): boolean {
    const margin = Math.min(REFRESH_MARGIN_MS, (grant.expires_at - grant.issued_at) / 4);
    return grant.expires_at - this.now() > margin;
  }

  async #fromDatabase(id: number, rejected: string | undefined): Promise<string> {
    const deadline = this.now() + LEASE_MS + 5000;
    let waiting = false;
    for (;;) {
      const row = await this.store.connections.byId(id);
      if (!row) throw new NotAuthorizedError('the connection was deleted');
      if (row.status === 'authorization_failed') {
        throw new NotAuthorizedError(row.status_reason ?? 'the Klaviyo authorization failed; authorize the connection again');
      }
      if (!row.oauth_sealed) {
        throw new NotAuthorizedError('the Klaviyo account is not authorized yet: start the authorization of this connection');
      }
      const grant = openGrant(this.sealer, id, row.oauth_sealed);
      const current = grant.access_token !== rejected;
      if (current && this.#fresh(grant)) {
        this.#cache.set(id, { updatedAt: row.updated_at, grant });
        return grant.access_token;
      }
      const now = this.now();
      if (grant.refreshing_until !== undefined && grant.refreshing_until > now) {
        // Another process holds the lease: its old token still works until it expires.
        if (current && grant.expires_at > now) return grant.access_token;
        if (now > deadline) throw new Error('timed out waiting for another process to refresh the Klaviyo token');
        if (!waiting) this.logger.debug({ connection_id: id }, 'waiting for another process to refresh the Klaviyo token');
        waiting = true;
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        continue;
      }
      const leased = sealGrant(this.sealer, id, { ...grant, refreshing_until: now + LEASE_MS });
      if (!(await this.store.connections.swapOauth(id, row.oauth_sealed, { oauth_sealed: leased }))) continue;
      const token = await this.#refresh(row, grant, leased);
      if (token !== undefined) return token;
    }
  }

  /** Holding the lease: refresh, store, release. Undefined when the fence says we lost the row. */
  async #refresh(row: ConnectionRow, grant: Grant, leased: string): Promise<string | undefined> {
    const { id } = row;
    let issued;
    try {
      issued = await this.oauth.refresh(grant.refresh_token);
    } catch (error) {
      if (error instanceof TokenEndpointError && error.code === 'invalid_grant') {
        const reason = `Klaviyo refused to refresh the access token (${error.message}); authorize the connection again`;
        const marked = await this.store.connections.swapOauth(id, leased, {
          oauth_sealed: null,
          token_expires_at: null,
          status: 'authorization_failed',
          status_reason: reason,
          updated_at: Math.max(this.now(), row.updated_at + 1),
        });
        this.#cache.delete(id);
        // Re-authorized while we were refreshing: the old grant's refusal no longer matters.
        if (!marked) return undefined;
        this.logger.warn({ connection_id: id }, 'Klaviyo refused the refresh token; the connection needs authorizing again');
        throw new NotAuthorizedError(reason);
      }
      // Transient (network, 5xx, 429): hand the lease back so the next attempt can try again.
      const released: Grant = { ...grant };
      delete released.refreshing_until;
      await this.store.connections
        .swapOauth(id, leased, { oauth_sealed: sealGrant(this.sealer, id, released) })
        .catch(() => undefined);
      throw error;
    }
    const now = this.now();
    const next: Grant = {
      access_token: issued.accessToken,
      refresh_token: issued.refreshToken ?? grant.refresh_token,
      issued_at: now,
      expires_at: now + issued.expiresInMs,
    };
    const stored = await this.store.connections.swapOauth(id, leased, {
      oauth_sealed: sealGrant(this.sealer, id, next),
      token_expires_at: next.expires_at,
    });
    if (!stored) {
      this.logger.warn({ connection_id: id }, 'the Klaviyo connection changed during a token refresh; using its new grant');
      return undefined;
    }
    this.#cache.set(id, { updatedAt: row.updated_at, grant: next });
    this.logger.debug({ connection_id: id }, 'refreshed the Klaviyo access token');
    return next.access_token;
  }
}
