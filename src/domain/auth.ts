import { hashToken, randomToken, sameHash } from '../security/tokens.js';
import type { Store } from '../store/store.js';
import { type ApiKeyResource, issueKey } from './api-keys.js';
import { organizationByRef } from './organization-ref.js';

/** `herald keys create`: the key resource and its organization's id. */
export type IssuedKey = ApiKeyResource & { secret_key: string; organization_id: number };

export interface IssuedToken {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
}

/** `last_used_at` is written at most this often per key. */
export const LAST_USED_EVERY_MS = 60_000;

/** What `randomToken('pk_', 18)` issues; anything else is no key (and a NUL would fail PostgreSQL's text). */
const PUBLIC_KEY = /^pk_[A-Za-z0-9_-]{1,64}$/;

/**
 * Who is calling. Keys and tokens are stored as SHA-256 hashes only. Every request looks its
 * credential up in the database, joined with its key and organization: there is no cache, so
 * a revoked key, its tokens, an expired key and a suspended organization fail at once in
 * every process (one indexed lookup per request).
 */
export class AuthService {
  /** Keys whose use this process recorded lately: concurrent requests do not all write it. */
  readonly #touched = new Map<number, number>();

  constructor(
    private readonly store: Store,
    private readonly tokenTtlSeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * A key pair for an organization given by id or by name (`herald keys create --org`); a
   * name that matches no organization creates it, as the command always did.
   */
  async createKey(organization: string): Promise<IssuedKey> {
    const now = this.now();
    return this.store.transaction(async (tx) => {
      const org = await organizationByRef(tx, organization, { create: true, now });
      const key = await issueKey(tx, org.id, {}, now);
      return { organization_id: org.id, ...key };
    });
  }

  /** A key (or the key a token was minted with) may be used: not expired, its organization active. */
  private usable(expiresAt: number | null, organizationStatus: string, now: number): boolean {
    return organizationStatus === 'active' && (expiresAt === null || expiresAt > now);
  }

  /** Records the key's use, at most once a minute (off the request's path: a failed write is tried on a later request). */
  private touch(apiKeyId: number, lastUsedAt: number | null, now: number): void {
    if (lastUsedAt !== null && now - lastUsedAt < LAST_USED_EVERY_MS) return;
    const mine = this.#touched.get(apiKeyId);
    if (mine !== undefined && now - mine < LAST_USED_EVERY_MS) return;
    if (this.#touched.size > 10_000) this.#touched.clear();
    this.#touched.set(apiKeyId, now);
    this.store.transaction((tx) => tx.apiKeys.touch(apiKeyId, now, LAST_USED_EVERY_MS)).catch(() => this.#touched.delete(apiKeyId));
  }

  /** HTTP Basic with the key pair: the organization and key ids, or undefined. */
  async keyPair(publicKey: string, secretKey: string): Promise<{ organizationId: number; apiKeyId: number } | undefined> {
    // A key Herald did not issue (wrong shape, a NUL PostgreSQL cannot compare) is simply unknown.
    if (!PUBLIC_KEY.test(publicKey)) return undefined;
    const row = await this.store.apiKeys.byPublicKey(publicKey);
    const now = this.now();
    if (!row || !sameHash(row.secret_hash, hashToken(secretKey)) || !this.usable(row.expires_at, row.organization_status, now)) {
      return undefined;
    }
    this.touch(row.id, row.last_used_at, now);
    return { organizationId: row.organization_id, apiKeyId: row.id };
  }

  /** The secret key alone (SendKit dialect). */
  async secretKey(secretKey: string): Promise<number | undefined> {
    const row = await this.store.apiKeys.bySecretHash(hashToken(secretKey));
    const now = this.now();
    if (!row || !this.usable(row.expires_at, row.organization_status, now)) return undefined;
    this.touch(row.id, row.last_used_at, now);
    return row.organization_id;
  }

  async bearer(token: string): Promise<number | undefined> {
    const now = this.now();
    const found = await this.store.accessTokens.lookup(hashToken(token), now);
    if (!found || !this.usable(found.key_expires_at, found.organization_status, now)) return undefined;
    this.touch(found.api_key_id, found.key_last_used_at, now);
    return found.organization_id;
  }

  /** OAuth2 client-credentials grant. A token never outlives the key it was minted with. */
  async issueToken(apiKeyId: number, organizationId: number): Promise<IssuedToken> {
    const token = randomToken('hat_', 32);
    const now = this.now();
    await this.store.accessTokens.insert(hashToken(token), apiKeyId, organizationId, now + this.tokenTtlSeconds * 1000);
    return { access_token: token, token_type: 'Bearer', expires_in: this.tokenTtlSeconds, scope: 'api' };
  }
}
