import { hashToken, randomToken, sameHash } from '../security/tokens.js';
import type { Store } from '../store/store.js';

export interface IssuedKey {
  organization_id: number;
  public_key: string;
  secret_key: string;
}

export interface IssuedToken {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
}

const CACHE_MS = 10_000;

/** What `randomToken('pk_', 18)` issues; anything else is no key (and a NUL would fail PostgreSQL's text). */
const PUBLIC_KEY = /^pk_[A-Za-z0-9_-]{1,64}$/;

/**
 * Who is calling. Keys and tokens are stored as SHA-256 hashes only; positive answers are
 * cached briefly so that a busy client does not cost a query per request.
 */
export class AuthService {
  readonly #cache = new Map<string, { organizationId: number; apiKeyId: number; until: number }>();

  constructor(
    private readonly store: Store,
    private readonly tokenTtlSeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  async createKey(organizationName: string): Promise<IssuedKey> {
    const now = this.now();
    return this.store.transaction(async (tx) => {
      const organizationId = await tx.organizations.findOrCreate(organizationName, now);
      const publicKey = randomToken('pk_', 18);
      const secretKey = randomToken('sk_', 32);
      await tx.apiKeys.insert(organizationId, publicKey, hashToken(secretKey), now);
      return { organization_id: organizationId, public_key: publicKey, secret_key: secretKey };
    });
  }

  private cached(key: string): { organizationId: number; apiKeyId: number } | undefined {
    const hit = this.#cache.get(key);
    if (hit && hit.until > this.now()) return hit;
    if (hit) this.#cache.delete(key);
    return undefined;
  }

  private remember(key: string, organizationId: number, apiKeyId: number, until: number): void {
    if (this.#cache.size > 10_000) this.#cache.clear();
    this.#cache.set(key, { organizationId, apiKeyId, until: Math.min(until, this.now() + CACHE_MS) });
  }

  /** HTTP Basic with the key pair: the organization id, or undefined. */
  async keyPair(publicKey: string, secretKey: string): Promise<{ organizationId: number; apiKeyId: number } | undefined> {
    if (!PUBLIC_KEY.test(publicKey)) return undefined;
    const secretHash = hashToken(secretKey);
    const cacheKey = `b:${publicKey}:${secretHash}`;
    const hit = this.cached(cacheKey);
    if (hit) return hit;
    const row = await this.store.apiKeys.byPublicKey(publicKey);
    if (!row || !sameHash(row.secret_hash, secretHash)) return undefined;
    this.remember(cacheKey, row.organization_id, row.id, Number.POSITIVE_INFINITY);
    return { organizationId: row.organization_id, apiKeyId: row.id };
  }

  /** The secret key alone (SendKit dialect). */
  async secretKey(secretKey: string): Promise<number | undefined> {
    const secretHash = hashToken(secretKey);
    const cacheKey = `s:${secretHash}`;
    const hit = this.cached(cacheKey);
    if (hit) return hit.organizationId;
    const row = await this.store.apiKeys.bySecretHash(secretHash);
    if (!row) return undefined;
    this.remember(cacheKey, row.organization_id, row.id, Number.POSITIVE_INFINITY);
    return row.organization_id;
  }

  async bearer(token: string): Promise<number | undefined> {
    const tokenHash = hashToken(token);
    const cacheKey = `t:${tokenHash}`;
    const hit = this.cached(cacheKey);
    if (hit) return hit.organizationId;
    const now = this.now();
    const found = await this.store.accessTokens.lookup(tokenHash, now);
    if (found === undefined) return undefined;
    // Cached until the token's own expiry at the latest (remember caps it at CACHE_MS too).
    this.remember(cacheKey, found.organization_id, 0, found.expires_at);
    return found.organization_id;
  }

  /** OAuth2 client-credentials grant. */
  async issueToken(apiKeyId: number, organizationId: number): Promise<IssuedToken> {
    const token = randomToken('hat_', 32);
    const now = this.now();
    await this.store.accessTokens.insert(hashToken(token), apiKeyId, organizationId, now + this.tokenTtlSeconds * 1000);
    return { access_token: token, token_type: 'Bearer', expires_in: this.tokenTtlSeconds, scope: 'api' };
  }
}
