import type { Executor } from './store.js';

export class AccessTokens {
  constructor(private readonly db: Executor) {}

  async insert(tokenHash: string, apiKeyId: number, organizationId: number, expiresAt: number): Promise<void> {
    await this.db
      .insertInto('access_tokens')
      .values({ token_hash: tokenHash, api_key_id: apiKeyId, organization_id: organizationId, expires_at: expiresAt })
      .execute();
  }

  /** A token still valid at `now`: its organization and its expiry (caches must not outlive it). */
  lookup(tokenHash: string, now: number): Promise<{ organization_id: number; expires_at: number } | undefined> {
    return this.db
      .selectFrom('access_tokens')
      .select(['organization_id', 'expires_at'])
      .where('token_hash', '=', tokenHash)
      .where('expires_at', '>', now)
      .executeTakeFirst();
  }

  async organizationOf(tokenHash: string, now: number): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('access_tokens')
      .select('organization_id')
      .where('token_hash', '=', tokenHash)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return row?.organization_id;
  }

  /** Deletes up to `batch` expired tokens (index access_tokens_expires); returns how many. */
  async deleteExpired(now: number, batch: number): Promise<number> {
    const expired = this.db.selectFrom('access_tokens').select('token_hash').where('expires_at', '<=', now).limit(batch);
    const result = await this.db.deleteFrom('access_tokens').where('token_hash', 'in', expired).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
