import type { OrganizationStatus } from './schema.js';
import type { Executor } from './executor.js';

/** A token still valid at `now`, with what decides whether it may still be used. */
export interface TokenCredential {
  organization_id: number;
  api_key_id: number;
  expires_at: number;
  key_expires_at: number | null;
  key_last_used_at: number | null;
  organization_status: OrganizationStatus;
}

export class AccessTokens {
  constructor(private readonly db: Executor) {}

  async insert(tokenHash: string, apiKeyId: number, organizationId: number, expiresAt: number): Promise<void> {
    await this.db
      .insertInto('access_tokens')
      .values({ token_hash: tokenHash, api_key_id: apiKeyId, organization_id: organizationId, expires_at: expiresAt })
      .execute();
  }

  /**
   * A token still valid at `now`, joined with the key it was minted with (a revoked key's
   * tokens are gone with it, by cascade) and that key's organization.
   */
  lookup(tokenHash: string, now: number): Promise<TokenCredential | undefined> {
    return this.db
      .selectFrom('access_tokens')
      .innerJoin('api_keys', 'api_keys.id', 'access_tokens.api_key_id')
      .innerJoin('organizations', 'organizations.id', 'api_keys.organization_id')
      .select([
        'access_tokens.organization_id',
        'access_tokens.api_key_id',
        'access_tokens.expires_at',
        'api_keys.expires_at as key_expires_at',
        'api_keys.last_used_at as key_last_used_at',
        'organizations.status as organization_status',
      ])
      .where('access_tokens.token_hash', '=', tokenHash)
      .where('access_tokens.expires_at', '>', now)
      .executeTakeFirst();
  }

  /** Deletes up to `batch` expired tokens (index access_tokens_expires); returns how many. */
  async deleteExpired(now: number, batch: number): Promise<number> {
    const expired = this.db.selectFrom('access_tokens').select('token_hash').where('expires_at', '<=', now).limit(batch);
    const result = await this.db.deleteFrom('access_tokens').where('token_hash', 'in', expired).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
